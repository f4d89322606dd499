/* SPDX-License-Identifier: MIT */
/* rt_file: durable writes, atomic publication, whole reads and every refusal. */
#include <errno.h>
#include <sys/stat.h>

#include "harness.h"
#include "lib/rt_file.h"
#include "rt_test.h"

FIXTURE(file) {
	char dir[64], path[128], tmp[160];
	char err[256];
	char buf[64];
};

FIXTURE_SETUP(file)
{
	ASSERT_EQ(rt_test_mkdtemp(self->dir, sizeof(self->dir), "file"), 0);
	snprintf(self->path, sizeof(self->path), "%s/f", self->dir);
	snprintf(self->tmp, sizeof(self->tmp), "%s.tmp.%ld", self->path, (long)getpid());
}

FIXTURE_TEARDOWN(file)
{
	rt_test_rmtree(self->dir);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_mode & 0777 : (mode_t)-1;
}

TEST_F(file, publish_replaces_with_mode_0600_and_leaves_nothing_beside)
{
	ASSERT_EQ(rt_file_publish(self->path, "one", 3, 0600, 0), 0);
	ASSERT_EQ(rt_file_publish(self->path, "second", 6, 0600, 0), 0);
	EXPECT_EQ(mode_of(self->path), 0600);
	EXPECT_EQ(rt_test_read(self->path, self->buf, sizeof(self->buf)), 6);
	EXPECT_STREQ(self->buf, "second");
	EXPECT_EQ(access(self->tmp, F_OK), -1);
}

TEST_F(file, private_mode_holds_whatever_the_umask)
{
	mode_t old = umask(0277);

	ASSERT_EQ(rt_file_publish(self->path, "k", 1, 0600, 0), 0);
	umask(old);
	EXPECT_EQ(mode_of(self->path), 0600);
}

TEST_F(file, no_replace_refuses_an_existing_file)
{
	ASSERT_EQ(rt_file_publish(self->path, "one", 3, 0600, RT_FILE_NO_REPLACE), 0);
	EXPECT_EQ(rt_file_publish(self->path, "two", 3, 0600, RT_FILE_NO_REPLACE), -EEXIST);
	EXPECT_EQ(rt_test_read(self->path, self->buf, sizeof(self->buf)), 3);
	EXPECT_STREQ(self->buf, "one");
	EXPECT_EQ(access(self->tmp, F_OK), -1);
}

TEST_F(file, publish_into_a_missing_directory_fails_cleanly)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/none/f", self->dir);
	EXPECT_EQ(rt_file_publish(path, "x", 1, 0600, 0), -ENOENT);
	EXPECT_EQ(rt_file_publish(path, "x", 1, 0600, RT_FILE_NO_REPLACE), -ENOENT);
}

TEST_F(file, publish_over_a_directory_leaves_no_temporary)
{
	ASSERT_EQ(mkdir(self->path, 0700), 0);
	ASSERT_EQ(mkdir(self->tmp, 0700) == 0 ? rmdir(self->tmp) : -1, 0);
	EXPECT_LT(rt_file_publish(self->path, "x", 1, 0600, 0), 0);
	EXPECT_EQ(access(self->tmp, F_OK), -1);
}

TEST_F(file, create_is_exclusive_and_follows_no_link)
{
	char link_path[192];

	ASSERT_EQ(rt_file_create(self->path, "abc", 3, 0600), 0);
	EXPECT_EQ(rt_file_create(self->path, "abc", 3, 0600), -EEXIST);
	snprintf(link_path, sizeof(link_path), "%s/l", self->dir);
	ASSERT_EQ(symlink("/nonexistent-target", link_path), 0);
	EXPECT_EQ(rt_file_create(link_path, "abc", 3, 0600), -EEXIST);
	EXPECT_EQ(access("/nonexistent-target", F_OK), -1);
}

TEST_F(file, wide_mode_is_left_to_the_umask)
{
	mode_t old = umask(027);

	ASSERT_EQ(rt_file_create(self->path, "t", 1, 0644), 0);
	umask(old);
	EXPECT_EQ(mode_of(self->path), 0640);
}

TEST_F(file, read_exact_and_at_the_limit)
{
	ASSERT_EQ(rt_test_write(self->path, "12345", 5), 0);
	EXPECT_EQ(rt_file_read(self->path, self->buf, 5, 0, self->err, sizeof(self->err)), 5);
	EXPECT_MEMEQ(self->buf, "12345", 5);
	EXPECT_EQ(rt_file_read(self->path, self->buf, sizeof(self->buf), 0, self->err,
			       sizeof(self->err)), 5);
	EXPECT_EQ(rt_file_read(self->path, self->buf, 4, 0, self->err, sizeof(self->err)),
		  -EFBIG);
	EXPECT_NONNULL(strstr(self->err, "/f: larger than the 4 bytes expected"));
}

TEST_F(file, read_empty_file)
{
	ASSERT_EQ(rt_test_write(self->path, "", 0), 0);
	EXPECT_EQ(rt_file_read(self->path, self->buf, 0, 0, self->err, sizeof(self->err)), 0);
	EXPECT_EQ(rt_file_read(self->path, self->buf, 8, 0, self->err, sizeof(self->err)), 0);
}

TEST_F(file, read_missing_file_names_it)
{
	EXPECT_EQ(rt_file_read(self->path, self->buf, 8, 0, self->err, sizeof(self->err)),
		  -ENOENT);
	EXPECT_NONNULL(strstr(self->err, self->path));
	EXPECT_NONNULL(strstr(self->err, "No such file"));
	/* No room for a message is fine. */
	EXPECT_EQ(rt_file_read(self->path, self->buf, 8, 0, NULL, 0), -ENOENT);
}

TEST_F(file, private_read_refuses_an_open_mode)
{
	ASSERT_EQ(rt_test_write(self->path, "key", 3), 0);
	ASSERT_EQ(chmod(self->path, 0640), 0);
	EXPECT_EQ(rt_file_read(self->path, self->buf, 8, RT_FILE_PRIVATE, self->err,
			       sizeof(self->err)), -EPERM);
	EXPECT_NONNULL(strstr(self->err, "mode 640 is too open (chmod 600 it)"));
	/* Without the flag the mode is not judged. */
	EXPECT_EQ(rt_file_read(self->path, self->buf, 8, 0, self->err, sizeof(self->err)), 3);
	ASSERT_EQ(chmod(self->path, 0600), 0);
	EXPECT_EQ(rt_file_read(self->path, self->buf, 8, RT_FILE_PRIVATE, self->err,
			       sizeof(self->err)), 3);
}

TEST_F(file, private_read_refuses_a_directory)
{
	EXPECT_EQ(rt_file_read(self->dir, self->buf, 8, RT_FILE_PRIVATE, self->err,
			       sizeof(self->err)), -EINVAL);
	EXPECT_NONNULL(strstr(self->err, "not a regular file"));
	/* A plain read of a directory fails in read(2). */
	EXPECT_EQ(rt_file_read(self->dir, self->buf, 8, 0, self->err, sizeof(self->err)),
		  -EISDIR);
}

TEST_F(file, sync_dir_of_relative_root_and_too_long_paths)
{
	char longp[PATH_MAX + 8];

	EXPECT_EQ(rt_file_sync_dir("relative-name"), 0);
	EXPECT_EQ(rt_file_sync_dir("/etc"), 0);
	EXPECT_EQ(rt_file_sync_dir(self->path), 0);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	EXPECT_EQ(rt_file_sync_dir(longp), -ENAMETOOLONG);
	EXPECT_EQ(rt_file_sync_dir("/nonexistent-dir/f"), -ENOENT);
}

TEST_F(file, write_all_to_a_closed_descriptor)
{
	int fd[2];

	ASSERT_EQ(pipe(fd), 0);
	EXPECT_EQ(rt_file_write_all(fd[1], "abc", 3), 0);
	EXPECT_EQ(read(fd[0], self->buf, 3), 3);
	close(fd[0]);
	close(fd[1]);
	EXPECT_EQ(rt_file_write_all(fd[1], "abc", 3), -EBADF);
}

TEST(file_err_formats_and_returns)
{
	char err[16];

	EXPECT_EQ(rt_file_err(err, sizeof(err), -EIO, "%s: %d", "x", 7), -EIO);
	EXPECT_STREQ(err, "x: 7");
	EXPECT_EQ(rt_file_err(NULL, 0, -EINVAL, "ignored"), -EINVAL);
}
