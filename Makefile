# IoMT key management and ingress system: top-level build.
#   make            build everything in userspace (build/)
#   make test       install packages, build, run every suite (TAP, totals line)
#   make check      the same suites under ASan + UBSan (build/san/)
#   make bench      benchmarks against same-run baselines -> build/bench.tsv
#   make run        install, build and run the system on loopback, say what happened
#   make deps       apt-get install every Debian package the project needs
#   make install DESTDIR= PREFIX=/usr/local,  make clean
# WERROR=1 turns warnings into errors (CI sets it).

BUILD   ?= build
PREFIX  ?= /usr/local
CC      ?= cc
ARCH    := $(shell uname -m)

WARN     = -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wvla -Wundef -Wcast-qual -Wwrite-strings
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
ifeq ($(WERROR),1)
WARN    += -Werror
endif
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif
ALL_CFLAGS = $(CFLAGS) $(WARN) -std=gnu11 -fno-strict-aliasing -pipe -MMD -MP
CPPFLAGS  += -Ilib -D_GNU_SOURCE

# Per-file instruction sets: the SIMD kernels are chosen at run time.
ifeq ($(ARCH),x86_64)
SIMD_bmi2   = -mbmi -mbmi2 -funroll-loops
SIMD_avx2   = -mavx2
SIMD_avx512 = -mavx512f -mavx512vl
SIMD_aesni  = -maes -msse4.1
endif

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
# Keep the objects of chained pattern rules (tests' .o) between runs.
.SECONDARY:
.PHONY: all test check bench run deps install clean lib-arm test-run bench-run

# ---- lib/: the freestanding core -------------------------------------------
LIB_SRC  := $(sort $(wildcard lib/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBIOMT  := $(BUILD)/lib/libiomt.a
# Installed headers: all but the internals of the Keccak dispatch.
LIB_PUBLIC_H := $(filter-out lib/keccak_impl.h lib/keccak_perm.h lib/cpu.h,$(wildcard lib/*.h))

# The host build of lib/ is hosted: -ffreestanding would imply -fno-builtin
# and turn every fixed-size memcpy of the protocol code into a libc call.
# Freestanding is proven by the Cortex-M3 build below (and its suite).
$(BUILD)/lib/%.o: lib/%.c Makefile
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(SIMD_$(lastword $(subst _, ,$*))) -c -o $@ $<

$(LIBIOMT): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# ---- userspace/lib/: the daemon runtime (libiomt-rt) -----------------------
RT_SRC  := $(sort $(wildcard userspace/lib/*.c))
RT_OBJ  := $(RT_SRC:%.c=$(BUILD)/%.o)
LIBRT   := $(BUILD)/userspace/lib/libiomt-rt.a

$(LIBRT): $(RT_OBJ)
	@mkdir -p $(@D)
	@rm -f $@
	$(AR) rcs $@ $^

# ---- bpf/: the XDP ingress filter (CO-RE, skeletons by bpftool) -------------
# vmlinux.h comes from the running kernel's BTF; bpf/include maps the C
# library headers lib/ includes onto vmlinux.h's types, so the filter takes
# its sizes from lib/wire.h and its permutation from lib/keccak_perm.h.
BPF_CLANG   ?= clang
BPFTOOL     ?= bpftool
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
BPF_SRC     := $(sort $(wildcard bpf/*.bpf.c))
BPF_SKEL    := $(BPF_SRC:bpf/%.bpf.c=$(BUILD)/bpf/%.skel.h)
BPF_CFLAGS   = -O2 -g -target bpf -D__TARGET_ARCH_x86 -Wall -Wextra -Wno-unused-parameter \
               -I$(BUILD)/bpf -Ibpf/include -Ibpf -Ilib -MMD -MP
# The loader (userspace/lib/rt_xdp.c, rt_nl.c) and whatever links it.
LDLIBS_BPF   = -lbpf -lelf -lz -lnl-route-3 -lnl-genl-3 -lnl-3
RT_BPF_OBJ  := $(addprefix $(BUILD)/userspace/lib/,rt_xdp.o rt_nl.o rt_filter.o rt_ingress.o rt_kmod.o)

$(BUILD)/bpf/vmlinux.h:
	@mkdir -p $(@D)
	@test -r $(VMLINUX_BTF) || { echo "error: $(VMLINUX_BTF) is missing: this kernel has no BTF" \
		"(CONFIG_DEBUG_INFO_BTF=y); set VMLINUX_BTF= to a vmlinux with a .BTF section" >&2; exit 1; }
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@
# lib/wire.c's size of every type, as a table the BPF program compiles in.
$(BUILD)/bpf/gen_sizes: bpf/gen_sizes.c $(LIBIOMT)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $< $(LIBIOMT)
$(BUILD)/bpf/xf_sizes.h: $(BUILD)/bpf/gen_sizes
	$< > $@
$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BUILD)/bpf/vmlinux.h $(BUILD)/bpf/xf_sizes.h
	$(BPF_CLANG) $(BPF_CFLAGS) -c -o $@ $<
$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* > $@
$(RT_BPF_OBJ): private CPPFLAGS += -Ibpf -I$(BUILD)/bpf -I/usr/include/libnl3
$(RT_BPF_OBJ): $(BPF_SKEL)
# tests/bpf: the filter's suites link the loader; tests/bpf/xdpctl.c is the
# small loader program tests/bpf/test_veth.sh drives.
$(BUILD)/tests/bpf/%.o: private CPPFLAGS += -Ibpf -I$(BUILD)/bpf
$(BUILD)/tests/bpf/%.o: $(BPF_SKEL)
$(BUILD)/tests/bpf/%: private TEST_LIBS += $(LDLIBS_BPF)
$(BUILD)/tests/bpf/xdpctl: $(BUILD)/tests/bpf/xdpctl.o $(LIBRT) $(LIBIOMT)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_RT) $(LDLIBS_BPF)
tests-build: $(BUILD)/tests/bpf/xdpctl
# The filter's benchmark (tests/bench/bench_xdp.c) links the loader too.
$(BUILD)/bench/bench_xdp: tests/bench/bench_xdp.c tests/bench/bench.h tests/bpf/pkt.h $(BPF_SKEL) \
		$(LIBRT) $(LIBIOMT)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Iuserspace -Ibpf -Itests $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< \
		$(LIBRT) $(LIBIOMT) $(LDLIBS_RT) $(LDLIBS_BPF)

# ---- userspace programs ----------------------------------------------------
LDLIBS_RT = -lsqlite3 -lcrypto -largon2 -lpthread -luring
BINS := $(BUILD)/bin/iomt-demo

$(BUILD)/userspace/%.o: userspace/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Iuserspace $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/ttp/%.o $(BUILD)/sensors/%.o $(BUILD)/kdc/%.o $(BUILD)/ppd/%.o: CPPFLAGS += -Iuserspace
$(BUILD)/ttp/%.o: ttp/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<
$(BUILD)/kdc/%.o: kdc/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<
$(BUILD)/ppd/%.o: ppd/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<
$(BUILD)/sensors/%.o: sensors/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/bin/iomt-demo: $(BUILD)/userspace/iomt-demo.o $(LIBRT) $(LIBIOMT)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_RT)

# A program is every .c of its directory (and of the optional third
# argument's globs), linked with the runtime and lib/:
# $(call PROG,binary,directory[,more .c globs])
define PROG
ifneq ($$(wildcard $(2)/*.c),)
$$(BUILD)/bin/$(1): $$(patsubst %.c,$$(BUILD)/%.o,$$(wildcard $(2)/*.c $(3))) $$(LIBRT) $$(LIBIOMT)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS_RT)
BINS += $$(BUILD)/bin/$(1)
endif
endef
$(eval $(call PROG,iomt-ttp,ttp))
$(eval $(call PROG,iomt-gwd,userspace/gwd))
# iomt-gwd's ingress filter (userspace/gwd/filter.c) attaches bpf/ through libiomt-rt.
$(BUILD)/bin/iomt-gwd: private LDLIBS_RT += $(LDLIBS_BPF)
# iomt-sensor runs sensors/core, the firmware's device logic, on a POSIX driver.
$(eval $(call PROG,iomt-sensor,sensors/posix,sensors/core/*.c))
$(BUILD)/sensors/%.o: CPPFLAGS += -Isensors/core
$(eval $(call PROG,iomt-user,userspace/user))
$(eval $(call PROG,iomt-kdc,kdc))
$(eval $(call PROG,iomt-kclient,userspace/kclient))
$(eval $(call PROG,iomt-ppd,ppd))
$(eval $(call PROG,iomt-store,ttp/store))
$(eval $(call PROG,iomtctl,userspace/ctl))
$(eval $(call PROG,iomt-load,userspace/load,sensors/posix/prov.c))

all: $(LIBIOMT) $(LIBRT) $(BINS) tests-build

# ---- tests -----------------------------------------------------------------
# Every tests/<dir>/test_<name>.c is a suite binary "<dir>.<name>";
# every tests/<dir>/test_<name>.sh is a suite script.
TEST_SRC  := $(sort $(wildcard tests/*/test_*.c))
TEST_BINS := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_SH   := $(sort $(wildcard tests/*/test_*.sh))
TEST_LIBS := $(LDLIBS_RT)
HARNESS_O := $(BUILD)/tests/harness.o

$(HARNESS_O): tests/harness.c tests/harness.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests -Itests/common -Iuserspace $(ALL_CFLAGS) -Wno-missing-prototypes \
		-DIOMT_SUITE='"$(subst /,.,$(subst test_,,$*))"' -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(HARNESS_O) $(LIBRT) $(LIBIOMT)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS)

# Suites under tests/s2 drive the programs: build those first.
$(TEST_BINS): | $(BINS)

# The harness's own self-test drives a demo binary with failing tests.
$(BUILD)/tests/harness/demo: $(BUILD)/tests/harness/demo.o $(HARNESS_O)
	$(CC) $(LDFLAGS) -o $@ $^
$(BUILD)/tests/harness/test_harness: | $(BUILD)/tests/harness/demo

.PHONY: tests-build
tests-build: $(TEST_BINS)

# tests/qemu/test_ble.sh's BLE sensors and store, run in the qemu guest
# (tests/qemu/rig.sh copies it there with its shared libraries).
BLE_CLIENT := $(BUILD)/tests/qemu/ble_client
$(BLE_CLIENT): tests/qemu/ble_client.c $(LIBRT) $(LIBIOMT)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Iuserspace -Itests -Itests/common $(ALL_CFLAGS) -Wno-missing-prototypes \
		-o $@ $< $(LIBRT) $(LIBIOMT) $(LDLIBS_RT)
tests-build: $(BLE_CLIENT)

# tests/qemu/test_kmod.sh's guest program (kernel/iomt.ko, both XDP variants).
# The module itself is built by the suite for the guest's kernel
# (tests/qemu/kmod_build.sh); `make kmod` builds it the same way.
KMODTEST := $(BUILD)/tests/qemu/kmodtest
$(KMODTEST): tests/qemu/kmodtest.c $(BPF_SKEL) $(LIBRT) $(LIBIOMT)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Iuserspace -Itests -Ibpf -I$(BUILD)/bpf -I/usr/include/libnl3 $(ALL_CFLAGS) \
		-o $@ $< $(LIBRT) $(LIBIOMT) $(LDLIBS_RT) $(LDLIBS_BPF)
tests-build: $(KMODTEST)
bench-run: $(KMODTEST)
.PHONY: kmod
kmod:
	tests/qemu/kmod_build.sh $(BUILD)/qemu $$(tests/qemu/kernel.sh $(BUILD)/qemu)

test: deps
	@$(MAKE) --no-print-directory WERROR=$(or $(WERROR),1) test-run

test-run: all lib-arm
	@BUILD=$(BUILD) tests/run.sh $(TEST_BINS) $(TEST_SH)

# Script suites get BUILD too, so the end-to-end suite drives sanitized daemons.
check: deps
	$(MAKE) BUILD=$(BUILD)/san SAN=1 OPT=-O1 all lib-arm
	BUILD=$(BUILD)/san IOMT_TEST_TIMEOUT_MULT=5 tests/run.sh \
		$(TEST_BINS:$(BUILD)/%=$(BUILD)/san/%) $(TEST_SH)

# ---- Cortex-M3 freestanding proof ------------------------------------------
ARM_CC     = arm-none-eabi-gcc
ARM_FLAGS  = -mcpu=cortex-m3 -mthumb -Os -ffreestanding -fno-common -ffunction-sections \
             -fdata-sections -DIOMT_NO_SIMD -std=gnu11 $(WARN)
ARM_SRC   := $(filter-out %_bmi2.c %_avx2.c %_avx512.c %_aesni.c %_x86.c,$(LIB_SRC))
ARM_OBJ   := $(ARM_SRC:%.c=$(BUILD)/arm/%.o)

$(BUILD)/arm/lib/%.o: lib/%.c Makefile
	@mkdir -p $(@D)
	$(ARM_CC) $(ARM_FLAGS) -Ilib -c -o $@ $<

$(BUILD)/arm/libiomt.a: $(ARM_OBJ)
	@rm -f $@
	arm-none-eabi-ar rcs $@ $^

lib-arm: $(BUILD)/arm/libiomt.a
	@echo "# lib/ for Cortex-M3 (arm-none-eabi-gcc -mcpu=cortex-m3 -mthumb -Os -ffreestanding):"
	@arm-none-eabi-size -t $< | sed 's/^/#   /'

# ---- Cortex-M3 test image (tests/m3) ----------------------------------------
# lib/ rebuilt with ARM_FLAGS plus stack and call-graph info, linked with a
# bare-metal startup into an image for QEMU's lm3s6965evb (main.elf, run by
# tests/m3/test_m3.sh) and into "core only" links of the device side that
# tests/bench/bench_fw.sh measures: core.elf (lib/), and sc.elf (sensors/core
# with lib/) once sensors/core/sc.h exists. tests/m3/README.md.
M3_DIR     := $(BUILD)/m3
M3_FLAGS    = $(ARM_FLAGS) -fstack-usage -fcallgraph-info=su -MMD -MP
M3_LDFLAGS  = -mcpu=cortex-m3 -mthumb -nostartfiles -Wl,--gc-sections -T tests/m3/m3.ld
M3_LIB_OBJ := $(ARM_SRC:%.c=$(M3_DIR)/%.o)
M3_SC_OBJ  := $(patsubst %.c,$(M3_DIR)/%.o,$(sort $(wildcard sensors/core/*.c)))
M3_VEC_H   := $(M3_DIR)/seed002_vec0.h
M3_ELF     := $(M3_DIR)/main.elf $(M3_DIR)/core.elf $(if $(wildcard sensors/core/sc.h),$(M3_DIR)/sc.elf)

$(M3_DIR)/lib/%.o: lib/%.c Makefile
	@mkdir -p $(@D)
	$(ARM_CC) $(M3_FLAGS) -Ilib -c -o $@ $<
$(M3_DIR)/sensors/core/%.o: sensors/core/%.c Makefile
	@mkdir -p $(@D)
	$(ARM_CC) $(M3_FLAGS) -Ilib -Isensors/core -c -o $@ $<
$(M3_VEC_H): tests/vectors/seed002_agreement.json tests/m3/vec_h.awk
	@mkdir -p $(@D)
	awk -v keys="did_i dk_i r1 m1 m4 sk next_did_i next_dk_i" -f tests/m3/vec_h.awk $< > $@
$(M3_DIR)/tests/m3/%.o: tests/m3/%.c tests/m3/m3.h $(M3_VEC_H) Makefile
	@mkdir -p $(@D)
	$(ARM_CC) $(M3_FLAGS) -Ilib -Isensors/core -I$(M3_DIR) -c -o $@ $<
$(M3_DIR)/libcore.a: $(M3_LIB_OBJ)
	@rm -f $@
	arm-none-eabi-ar rcs $@ $^
$(M3_DIR)/libsc.a: $(M3_SC_OBJ)
	@rm -f $@
	arm-none-eabi-ar rcs $@ $^
$(M3_DIR)/sc.elf: $(M3_DIR)/libsc.a
$(M3_DIR)/%.elf: $(M3_DIR)/tests/m3/m3_%.o $(M3_DIR)/tests/m3/m3_start.o $(M3_DIR)/libcore.a tests/m3/m3.ld
	$(ARM_CC) $(M3_LDFLAGS) -Wl,-Map=$(@:.elf=.map) -o $@ \
		-Wl,--start-group $(filter %.o %.a,$^) -Wl,--end-group

.PHONY: m3-image
m3-image: $(M3_ELF)
test-run bench-run: m3-image

# ---- benchmarks ------------------------------------------------------------
BENCH_SRC  := $(sort $(wildcard tests/bench/bench_*.c))
BENCH_BINS := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)
# Script benchmarks drive the built programs (system end to end).
BENCH_SH   := $(sort $(wildcard tests/bench/bench_*.sh))

$(BUILD)/bench/%: tests/bench/%.c tests/bench/bench.h $(LIBIOMT)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< $(LIBIOMT) -lcrypto

# The TTP benchmark drives the engine without network or store.
BENCH_TTP_O := $(BUILD)/ttp/s2_engine.o $(BUILD)/ttp/s2_table.o
$(BUILD)/bench/bench_ttp: tests/bench/bench_ttp.c tests/bench/bench.h $(BENCH_TTP_O) $(LIBIOMT)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< $(BENCH_TTP_O) $(LIBIOMT) -lcrypto

# The MEC's phase-4 ingest benchmark builds the role's sources in
# (tests/s2/mecdata_rig.h, as tests/s2/test_mecdata_batch.c does).
$(BUILD)/bench/bench_mecdata: tests/bench/bench_mecdata.c tests/bench/bench.h tests/s2/mecdata_rig.h \
		$(wildcard userspace/gwd/mec*.[ch]) $(LIBRT) $(LIBIOMT)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Iuserspace -Itests -Itests/common $(ALL_CFLAGS) -Wno-missing-prototypes \
		-o $@ $< $(LIBRT) $(LIBIOMT) $(LDLIBS_RT)

# The KDC benchmark's load generator speaks our protocol and MIT Kerberos'
# (libkrb5 from mk/bench-packages.txt, installed by `make bench` only).
KDC_LOAD := $(BUILD)/bench/kdc_load
KDC_LOAD_O := $(BUILD)/userspace/load/lat.o $(BUILD)/userspace/load/rnd.o
$(KDC_LOAD): tests/bench/kdc_load.c tests/bench/bench.h $(KDC_LOAD_O) $(LIBRT) $(LIBIOMT)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Iuserspace -Itests $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< \
		$(KDC_LOAD_O) $(LIBRT) $(LIBIOMT) -lkrb5 -lk5crypto -lcom_err $(LDLIBS_RT)

# The gateway benchmark's load generator (tests/bench/bench_gwd.sh): plays
# sensors and the store around iomt-gwd's relay role.
GWD_LOAD := $(BUILD)/bench/gwd_load
$(GWD_LOAD): tests/bench/gwd_load.c $(LIBRT) $(LIBIOMT)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Iuserspace -Itests -Itests/common $(ALL_CFLAGS) -Wno-missing-prototypes \
		-o $@ $< $(LIBRT) $(LIBIOMT) $(LDLIBS_RT)

bench: deps
	@mk/deps.sh mk/bench-packages.txt
	@$(MAKE) --no-print-directory bench-run

bench-run: all $(BENCH_BINS) $(KDC_LOAD) $(GWD_LOAD)
	@BUILD=$(BUILD) tests/bench/run.sh $(BUILD)/bench.tsv $(BENCH_BINS) $(BENCH_SH)

# ---- run, deps, install, clean ---------------------------------------------
run: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) mk/run.sh

deps:
	@mk/deps.sh mk/debian-packages.txt

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/iomt \
		$(DESTDIR)$(PREFIX)/share/doc/iomt
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(LIBIOMT) $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 $(LIB_PUBLIC_H) $(DESTDIR)$(PREFIX)/include/iomt/
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/iomt/

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
