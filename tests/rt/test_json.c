/* SPDX-License-Identifier: MIT */
/* rt_json: escaping of quotes, backslashes, control bytes and non-ASCII. */
#include <stdlib.h>

#include "harness.h"
#include "lib/rt_json.h"

static const char *esc(const char *s)
{
	static char out[1024];

	rt_json_escape(out, sizeof(out), s);
	return out;
}

TEST(quotes_and_backslashes)
{
	ASSERT_STREQ(esc("a\"b\\c"), "a\\\"b\\\\c");
	ASSERT_STREQ(esc("\\\""), "\\\\\\\"");
	ASSERT_STREQ(esc("plain / text"), "plain / text");
	ASSERT_STREQ(esc(""), "");
}

TEST(control_characters)
{
	ASSERT_STREQ(esc("\b\f\n\r\t"), "\\b\\f\\n\\r\\t");
	ASSERT_STREQ(esc("\x01"), "\\u0001");
	ASSERT_STREQ(esc("a\x1f" "b"), "a\\u001fb");
	ASSERT_STREQ(esc("\x1b[31mred"), "\\u001b[31mred");
	ASSERT_STREQ(esc("\x7f"), "\\u007f");
}

TEST(utf8_becomes_u_escapes)
{
	ASSERT_STREQ(esc("caf\xc3\xa9"), "caf\\u00e9");
	ASSERT_STREQ(esc("\xe2\x82\xac"), "\\u20ac");
	ASSERT_STREQ(esc("\xef\xbf\xbf"), "\\uffff");
	/* U+1F600 and U+10FFFF need surrogate pairs. */
	ASSERT_STREQ(esc("\xf0\x9f\x98\x80"), "\\ud83d\\ude00");
	ASSERT_STREQ(esc("\xf4\x8f\xbf\xbf"), "\\udbff\\udfff");
	ASSERT_STREQ(esc("\xc2\x80"), "\\u0080");
}

TEST(invalid_bytes_become_replacement_characters)
{
	ASSERT_STREQ(esc("\xff"), "\\ufffd");
	ASSERT_STREQ(esc("\x80"), "\\ufffd");
	ASSERT_STREQ(esc("a\xc3"), "a\\ufffd");
	/* Overlong "/" and overlong NUL: the classic filter bypasses. */
	ASSERT_STREQ(esc("\xc0\xaf"), "\\ufffd\\ufffd");
	ASSERT_STREQ(esc("\xe0\x80\xaf"), "\\ufffd\\ufffd\\ufffd");
	ASSERT_STREQ(esc("\xc0\x80"), "\\ufffd\\ufffd");
	/* UTF-16 surrogate and beyond U+10FFFF. */
	ASSERT_STREQ(esc("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");
	ASSERT_STREQ(esc("\xf4\x90\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd");
	/* A cut sequence does not swallow the ASCII after it. */
	ASSERT_STREQ(esc("\xe2\x82" "A\""), "\\ufffd\\ufffdA\\\"");
}

TEST(every_byte_escapes_to_printable_ascii)
{
	char in[2], out[16];
	int b;
	size_t i, n;

	for (b = 1; b < 256; b++) {
		in[0] = (char)b;
		in[1] = 0;
		n = rt_json_escape(out, sizeof(out), in);
		ASSERT_EQ(n, strlen(out));
		for (i = 0; i < n; i++) {
			ASSERT_GE((unsigned char)out[i], 0x20);
			ASSERT_LT((unsigned char)out[i], 0x7f);
		}
	}
}

/* Appends the UTF-8 encoding of cp. */
static char *put_utf8(char *o, unsigned long cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

/* An independent JSON string decoder, to check the escapes read back. */
static void unescape(const char *s, char *o)
{
	static const char shorts[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	const char *e;
	unsigned long cp, lo;

	while (*s) {
		if (*s != '\\') {
			*o++ = *s++;
			continue;
		}
		s++;
		for (e = shorts; *e && *e != *s; e += 2)
			;
		if (*e) {
			*o++ = e[1];
			s++;
			continue;
		}
		cp = strtoul((char[5]){ s[1], s[2], s[3], s[4], 0 }, NULL, 16);
		s += 5;
		if (cp >= 0xd800 && cp < 0xdc00) {
			lo = strtoul((char[5]){ s[2], s[3], s[4], s[5], 0 }, NULL, 16);
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			s += 6;
		}
		o = put_utf8(o, cp);
	}
	*o = 0;
}

TEST(valid_text_round_trips)
{
	static const char *const texts[] = {
		"patient \"p-42\" said \\o/",
		"line1\nline2\ttab\r\b\f\x01\x1f\x7f",
		"Gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xc2\x80",
		"\xe4\xb8\xad\xe6\x96\x87",
	};
	char out[512], back[256];
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		rt_json_escape(out, sizeof(out), texts[i]);
		unescape(out, back);
		ASSERT_STREQ(back, texts[i]);
	}
}

TEST(counts_like_snprintf)
{
	char small[5];

	ASSERT_EQ(rt_json_escape(NULL, 0, "a\"b\n"), 6);
	ASSERT_EQ(rt_json_escape(small, sizeof(small), "abc\"def"), 8);
	ASSERT_STREQ(small, "abc\\");
	ASSERT_EQ(rt_json_escape(small, sizeof(small), "\xff"), 6);
	ASSERT_EQ(strlen(small), 4);
}

TEST(object_builder)
{
	char buf[128], tiny[8];
	struct rt_json j;

	rt_json_begin(&j, buf, sizeof(buf));
	rt_json_str(&j, "event", "say \"hi\"");
	rt_json_int(&j, "n", -5);
	rt_json_str(&j, "k\n", "\xff");
	ASSERT_EQ(rt_json_end(&j), strlen(buf));
	ASSERT_TRUE(rt_json_fits(&j));
	ASSERT_STREQ(buf, "{\"event\":\"say \\\"hi\\\"\",\"n\":-5,\"k\\n\":\"\\ufffd\"}\n");

	rt_json_begin(&j, tiny, sizeof(tiny));
	rt_json_str(&j, "event", "x");
	ASSERT_EQ(rt_json_end(&j), 14);
	ASSERT_FALSE(rt_json_fits(&j));
	ASSERT_STREQ(tiny, "{\"event");
}
