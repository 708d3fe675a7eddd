# supervisor: a multi-process plugin supervisor hosting a chat bot.
#
#   make          build everything into build/
#   make run      install missing packages, build, run the bot host (default config)
#   make test     install missing packages, build, run every test, then again under ASan+UBSan
#   make bench    run the benchmarks, write docs/benchmarks.md
#   make check-asan   build into build-asan/ with sanitizers and run every test there
#   make clean

BUILD	?= build
CC	?= cc
OPT	?= -O2
CFLAGS	?= $(OPT) -g
CFLAGS	+= -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
	   -Wpointer-arith -Wformat=2 -I. -MMD -MP
# Link only the libraries a binary uses (the daemon needs no libm).
LDFLAGS	?= -Wl,--as-needed
ifeq ($(SANITIZE),1)
CFLAGS	+= -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS	+= -fsanitize=address,undefined
endif

PYTHON	= /usr/bin/python3
LIBS	= -levent -lmsgpackc -ljansson -lproc2 -lm

OBJ	= $(BUILD)/obj
src2obj	= $(patsubst %.c,$(OBJ)/%.o,$(1))

COMMON_SRCS	= $(wildcard common/*.c)
IPC_SRCS	= $(wildcard ipc/*.c)
CONFIG_SRCS	= $(wildcard config/*.c)
METRICS_SRCS	= $(wildcard metrics/*.c)
SDK_SRCS	= $(wildcard plugins/sdk/*.c)
CTL_SRCS	= supervisor/supervisorctl.c
MAIN_SRCS	= supervisor/main.c
# Everything of the daemon but main() is a library, so unit tests reach it.
DAEMON_SRCS	= $(filter-out $(CTL_SRCS) $(MAIN_SRCS),$(wildcard supervisor/*.c))

# Static libraries, one per module; order matters for the linker.
LIBMOD	= $(BUILD)/lib/libmetrics.a $(BUILD)/lib/libconfig.a $(BUILD)/lib/libipc.a \
	  $(BUILD)/lib/libcommon.a
LIBSDK	= $(BUILD)/lib/libsdk.a
LIBSUP	= $(BUILD)/lib/libsupervisor.a

GEN_DEFAULT = $(OBJ)/gen/default_config.o

BINS	= $(BUILD)/bin/supervisor $(BUILD)/bin/supervisorctl

# Plugins: every directory under plugins/ but sdk/. A directory with C files
# builds one binary; one with NAME.py installs that script as the plugin.
PLUGIN_DIRS	= $(filter-out sdk,$(notdir $(patsubst %/,%,$(wildcard plugins/*/))))
C_PLUGINS	= $(foreach d,$(PLUGIN_DIRS),$(if $(wildcard plugins/$(d)/*.c),$(d)))
PY_PLUGINS	= $(foreach d,$(PLUGIN_DIRS),$(if $(wildcard plugins/$(d)/$(d).py),$(d)))
PLUGINS		= $(addprefix $(BUILD)/plugins/,$(C_PLUGINS) $(PY_PLUGINS))

# Test plugins written in C: tests/plugins/NAME.c (Python ones run from the tree).
TPLUG_C		= $(patsubst tests/plugins/%.c,$(BUILD)/tests/plugins/%,$(wildcard tests/plugins/*.c))

UNIT_TESTS	= $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/test_*.c))
BENCH_BINS	= $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))

.PHONY: all deps run test check check-asan unit e2e bench clean fuzz
.DEFAULT_GOAL := all

all: $(BINS) $(PLUGINS) $(TPLUG_C) $(UNIT_TESTS) $(BENCH_BINS)

deps:
	@scripts/install-deps

run: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/bin/supervisor

# Every test, in the normal build and in the sanitizer build; one summary line.
test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 OPT=-O1 all
	@scripts/run-tests build build-asan

check: all
	@scripts/run-tests $(BUILD)

check-asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 OPT=-O1 all
	@scripts/run-tests build-asan

unit: $(UNIT_TESTS)
	@scripts/run-tests --unit-only $(BUILD)

e2e: all
	@scripts/run-tests --e2e-only $(BUILD)

bench: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench $(BUILD)

fuzz:
	@scripts/install-deps --fuzz
	@scripts/fuzz

clean:
	rm -rf build build-asan

$(OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/lib/libcommon.a: $(call src2obj,$(COMMON_SRCS))
$(BUILD)/lib/libipc.a: $(call src2obj,$(IPC_SRCS))
$(BUILD)/lib/libconfig.a: $(call src2obj,$(CONFIG_SRCS))
$(BUILD)/lib/libmetrics.a: $(call src2obj,$(METRICS_SRCS))
$(BUILD)/lib/libsdk.a: $(call src2obj,$(SDK_SRCS))
$(BUILD)/lib/libsupervisor.a: $(call src2obj,$(DAEMON_SRCS))
$(BUILD)/lib/%.a:
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

# config/default.json compiled into the daemon: it runs without -c.
$(OBJ)/gen/default_config.c: config/default.json
	@mkdir -p $(@D)
	@{ echo '/* Generated from config/default.json. */'; \
	   echo '#include <stddef.h>'; \
	   echo 'const char default_config_json[] = {'; \
	   od -An -v -tx1 $< | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	   echo '0x00 };'; \
	   echo 'const size_t default_config_json_len = sizeof default_config_json - 1;'; } > $@
$(OBJ)/gen/default_config.o: $(OBJ)/gen/default_config.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/bin/supervisor: $(call src2obj,$(MAIN_SRCS)) $(GEN_DEFAULT) $(LIBSUP) $(LIBMOD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The CLI shares the verb list (cmd-list.h), not the daemon's code.
$(BUILD)/bin/supervisorctl: $(call src2obj,$(CTL_SRCS)) $(LIBMOD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

define c_plugin
$(BUILD)/plugins/$(1): $(call src2obj,$(wildcard plugins/$(1)/*.c)) $(LIBSDK) $(LIBMOD)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LIBS)
endef
$(foreach p,$(C_PLUGINS),$(eval $(call c_plugin,$(p))))

define py_plugin
$(BUILD)/plugins/$(1): plugins/$(1)/$(1).py
	@mkdir -p $$(@D)
	install -m 755 $$< $$@
endef
$(foreach p,$(PY_PLUGINS),$(eval $(call py_plugin,$(p))))

$(BUILD)/tests/plugins/%: $(OBJ)/tests/plugins/%.o $(LIBSDK) $(LIBMOD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# Unit tests link every module and the daemon's library (not its main).
# Objects first, then libraries: extra objects named below resolve against them.
$(BUILD)/tests/unit/%: $(OBJ)/tests/unit/%.o $(LIBSUP) $(LIBSDK) $(LIBMOD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(LIBS) -lcmocka
$(BUILD)/tests/unit/test_dice: $(OBJ)/plugins/dice-roller/dice.o
# test_config counts the file system calls config_parse makes (none): the
# calls that would be are wrapped at link time.
$(BUILD)/tests/unit/test_config: LDFLAGS += $(foreach f,open openat fopen stat \
	lstat access realpath getcwd getenv readlink opendir,-Wl,--wrap=$(f))
$(BUILD)/tests/unit/test_irc: $(OBJ)/plugins/irc/ircmsg.o $(OBJ)/plugins/irc/ircrate.o

$(BUILD)/bench/%: $(OBJ)/bench/%.o $(LIBSUP) $(LIBSDK) $(LIBMOD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
