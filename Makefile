# m3: a C toolchain of small Unix filters for DICOM processing.  GNU make.
#   make            build libm3 and every tool into bin/
#   make check      install what is missing, build, run every test
#   make demo       install what is missing, build, run the main pipeline on sample data
#   make bench lint fuzz install uninstall clean

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=

CFLAGS ?= -O2 -g
CXXFLAGS ?= -O2 -g
WERROR := $(if $(filter true 1 yes,$(CI)),-Werror)
WARN := -Wall -Wextra -Wpedantic $(WERROR)
VERSION := $(shell cat VERSION)
M3_CPPFLAGS := -Isrc/libm3 -Isrc/dicom -D_POSIX_C_SOURCE=200809L -DM3_VERSION='"$(VERSION)"' -MMD -MP
M3_CFLAGS := -std=c11 $(WARN) -pthread
M3_CXXFLAGS := -std=c++17 -Wall -Wextra $(WERROR) -pthread
LDLIBS_CORE := -lpng -lz -lm -pthread

B := build
LIB := $(B)/libm3.a
LIB_SRC := $(wildcard src/libm3/*.c)
LIB_OBJ := $(LIB_SRC:src/%.c=$(B)/%.o)

# CUDA: nvcc on PATH or in the usual prefix turns the .cu files on; nothing to configure.
# nvcc may be a wrapper script (/usr/local/bin/nvcc -> /usr/local/cuda-X/bin/nvcc), so the
# runtime's folder is asked of nvcc itself (-dryrun prints its LIBRARIES line), not guessed
# from where nvcc lies. With nvcc but no libcudart there, the tools build CPU-only, with a warning.
ifeq ($(origin NVCC),undefined)
NVCC := $(firstword $(shell command -v nvcc 2>/dev/null) $(wildcard /usr/local/cuda/bin/nvcc))
endif
NVCCFLAGS ?= -O2 -std=c++17
CUDA_LIBDIR := $(if $(NVCC),$(firstword $(foreach d,$(shell $(NVCC) -dryrun -x cu -c /dev/null \
	-o /dev/null 2>&1 | sed -n 's/^\#\$$ LIBRARIES=//p' | tr -d '"' | tr ' ' '\n' | \
	sed -n 's/^-L//p' | grep -v stubs) $(patsubst %/bin/nvcc,%/lib64,$(NVCC)),\
	$(if $(wildcard $(d)/libcudart.so),$(d)))))
ifneq ($(NVCC),)
ifeq ($(CUDA_LIBDIR),)
$(warning nvcc found at $(NVCC) but no libcudart.so beside it: building CPU-only)
override NVCC :=
endif
endif
# no commas: the value is pasted into an $(if ...) in TOOL_RULES, where a comma splits it
CUDA_LDLIBS := $(if $(NVCC),-L$(CUDA_LIBDIR) -lcudart -lstdc++ -Xlinker -rpath -Xlinker $(CUDA_LIBDIR))

# GDCM, for the DICOM shim that m3-decode and m3-phantom link.
GDCM_CPPFLAGS := $(shell ls -d /usr/include/gdcm-* 2>/dev/null | sed 's/^/-I/' | head -n1)
GDCM_LDLIBS := -lgdcmMSFF -lgdcmDSED -lgdcmDICT -lgdcmIOD -lgdcmCommon -lstdc++

# The GDCM shim (C API over C++), linked only by the tools that read or write DICOM:
# in a tool.mk, <tool>_DEPS := $(DICOM_LIB) and <tool>_LDLIBS := $(GDCM_LDLIBS).
DICOM_LIB := $(B)/libm3dicom.a
DICOM_OBJ := $(patsubst src/%.cpp,$(B)/%.o,$(wildcard src/dicom/*.cpp))

TOOLS := $(patsubst src/%/main.c,%,$(wildcard src/m3-*/main.c))
BINS := $(TOOLS:%=bin/%)
MANS := $(wildcard man/*.[157])

all: $(BINS) $(LIB) testtools

# Tools may add a src/m3-<tool>/tool.mk that sets <tool>_LDLIBS and <tool>_DEPS.
-include $(wildcard src/m3-*/tool.mk)

$(B)/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(M3_CPPFLAGS) $(M3_CFLAGS) $(CFLAGS) $(if $(NVCC),-DM3_HAVE_CUDA) -c -o $@ $<

$(B)/%.o: src/%.cpp
	@mkdir -p $(@D)
	$(CXX) $(M3_CPPFLAGS) $(GDCM_CPPFLAGS) $(M3_CXXFLAGS) $(CXXFLAGS) -c -o $@ $<

$(B)/%.cu.o: src/%.cu
	@mkdir -p $(@D)
	$(NVCC) -Isrc/libm3 $(NVCCFLAGS) -DM3_HAVE_CUDA -MMD -MP -MF $(@:.o=.d) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	$(AR) rcs $@ $^

$(DICOM_LIB): $(DICOM_OBJ)
	$(AR) rcs $@ $^

define TOOL_RULES
$(1)_OBJ := $$(patsubst src/%.c,$(B)/%.o,$$(wildcard src/$(1)/*.c)) \
	$$(patsubst src/%.cpp,$(B)/%.o,$$(wildcard src/$(1)/*.cpp)) \
	$$(if $$(NVCC),$$(patsubst src/%.cu,$(B)/%.cu.o,$$(wildcard src/$(1)/*.cu)))
bin/$(1): $$($(1)_OBJ) $$($(1)_DEPS) $(LIB)
	@mkdir -p bin
	$$(if $$(filter %.cpp,$$(wildcard src/$(1)/*.cpp))$$(filter $(DICOM_LIB),$$($(1)_DEPS))$$(filter %.cu.o,$$($(1)_OBJ)),$(CXX),$(CC)) \
		$(LDFLAGS) -o $$@ $$($(1)_OBJ) $$($(1)_DEPS) $(LIB) $$($(1)_LDLIBS) \
		$$(if $$(filter %.cu.o,$$($(1)_OBJ)),$(CUDA_LDLIBS)) $(LDLIBS_CORE)
endef
$(foreach t,$(TOOLS),$(eval $(call TOOL_RULES,$(t))))

# Test programs: helper tools for tests/cli, cmocka unit tests, the same under ASan+UBSan.
TESTTOOLS := $(patsubst tests/tools/%.c,$(B)/tests/tools/%,$(wildcard tests/tools/*.c))
UNIT := $(patsubst tests/unit/%.c,$(B)/tests/unit/%,$(wildcard tests/unit/test_*.c))
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ASAN_LIB_OBJ := $(LIB_SRC:src/%.c=$(B)/asan/%.o)
ASAN_UNIT := $(patsubst tests/unit/%.c,$(B)/asan/tests/%,$(wildcard tests/unit/test_*.c))

testtools: $(TESTTOOLS)

$(B)/tests/tools/%: tests/tools/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(M3_CPPFLAGS) $(M3_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS_CORE)

$(B)/tests/unit/%: tests/unit/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(M3_CPPFLAGS) $(M3_CFLAGS) $(CFLAGS) -o $@ $< $(LIB) -lcmocka $(LDLIBS_CORE)

$(B)/asan/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(M3_CPPFLAGS) $(M3_CFLAGS) -O1 -g $(ASAN_FLAGS) -c -o $@ $<

$(B)/asan/libm3.a: $(ASAN_LIB_OBJ)
	$(AR) rcs $@ $^

$(B)/asan/tests/%: tests/unit/%.c $(B)/asan/libm3.a
	@mkdir -p $(@D)
	$(CC) $(M3_CPPFLAGS) $(M3_CFLAGS) -O1 -g $(ASAN_FLAGS) -o $@ $< $(B)/asan/libm3.a -lcmocka $(LDLIBS_CORE)

deps:
	@scripts/deps.sh all

check: deps
	$(MAKE) all $(UNIT) $(ASAN_UNIT)
	@tests/run.sh $(UNIT) $(ASAN_UNIT)

demo: deps
	$(MAKE) all
	@scripts/demo.sh

bench: deps
	$(MAKE) all
	@bench/run.sh

# libFuzzer on the stream reader: make fuzz FUZZ_SECONDS=600
FUZZ_SECONDS ?= 60
$(B)/fuzz/fuzz_vol: fuzz/fuzz_vol.c $(LIB_SRC)
	@mkdir -p $(@D)
	clang -Isrc/libm3 -D_POSIX_C_SOURCE=200809L -std=c11 -g -O1 \
		-fsanitize=fuzzer,address,undefined -o $@ $^ -lz -lm -pthread

fuzz: $(B)/fuzz/fuzz_vol
	@mkdir -p $(B)/fuzz/corpus
	M3_MAX_BYTES=16777216 $(B)/fuzz/fuzz_vol -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
		$(B)/fuzz/corpus fuzz/corpus

lint:
	clang-format --dry-run -Werror $(filter-out %_default.h,$(wildcard src/*/*.[ch] \
		src/*/*/*.h src/*/*.cpp src/*/*.cu)) $(wildcard tests/unit/*.c tests/tools/*.c fuzz/*.c)
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --std=c11 --inline-suppr \
		--suppress=missingIncludeSystem -Isrc/libm3 -Isrc/net -Isrc/dicom src/libm3 src/net \
		$(wildcard src/m3-*)
	mandoc -Tlint -Wwarning $(MANS)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man7
	$(if $(BINS),install -m 755 $(BINS) $(DESTDIR)$(BINDIR))
	for m in $(MANS); do s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s; done

uninstall:
	rm -f $(BINS:bin/%=$(DESTDIR)$(BINDIR)/%)
	for m in $(MANS); do s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done

clean:
	rm -rf $(B) bin tests/data

.PHONY: all testtools deps check demo bench fuzz lint install uninstall clean

-include $(shell find $(B) -name '*.d' 2>/dev/null)
