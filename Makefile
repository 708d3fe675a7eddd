# supervisor: a multi-process plugin supervisor hosting a chat bot.
#
#   make          build everything into build/
#   make run      install missing packages, build, run the bot host (default config)
#   make test     install missing packages, build, run every test, then again under ASan+UBSan
#   make bench    run the benchmarks, write docs/benchmarks.md
#   make check-asan   build into build-asan/ with sanitizers and run every test there
#   make check-valgrind   the daemon under valgrind memcheck through a short scenario
#   make chaos    kill -9 storm under load: accounting, containment, log volume
#   make install  install below PREFIX (/usr/local), staged under DESTDIR;
#                 make uninstall removes it (scripts/install)
#   make clean

BUILD	?= build
CC	?= cc
OPT	?= -O2
CFLAGS	?= $(OPT) -g
CFLAGS	+= -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
	   -Wpointer-arith -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes \
	   -Wmissing-declarations -I. -MMD -MP
# Link only the libraries a binary uses (the daemon needs no libm).
LDFLAGS	?= -Wl,--as-needed
ifeq ($(SANITIZE),1)
CFLAGS	+= -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS	+= -fsanitize=address,undefined
endif

# The variables that make a build directory what it is, for run-tests' check
# that a second make there has nothing to do. ASAN_VARS: the sanitizer build.
BUILD_VARS = SANITIZE=$(SANITIZE) OPT=$(OPT)
ASAN_VARS  = SANITIZE=1 OPT=-O1

PYTHON	= /usr/bin/python3

OBJ	= $(BUILD)/obj
src2obj	= $(patsubst %.c,$(OBJ)/%.o,$(1))

COMMON_SRCS	= $(wildcard common/*.c)
IPC_SRCS	= $(wildcard ipc/*.c)
CONFIG_SRCS	= $(wildcard config/*.c)
METRICS_SRCS	= $(wildcard metrics/*.c)
SDK_SRCS	= $(wildcard plugins/sdk/*.c)
CTL_SRCS	= supervisor/supervisorctl.c
# The verb table and its formatters: in the daemon's library and in the CLI.
VERB_SRCS	= $(wildcard supervisor/verbs*.c)
MAIN_SRCS	= supervisor/main.c
# Everything of the daemon but main() is a library, so unit tests reach it.
DAEMON_SRCS	= $(filter-out $(CTL_SRCS) $(MAIN_SRCS),$(wildcard supervisor/*.c))

# Static libraries, one per module; order matters for the linker.
LIBMOD	= $(BUILD)/lib/libmetrics.a $(BUILD)/lib/libconfig.a $(BUILD)/lib/libipc.a \
	  $(BUILD)/lib/libcommon.a
LIBSDK	= $(BUILD)/lib/libsdk.a
LIBSUP	= $(BUILD)/lib/libsupervisor.a

# System libraries, each on the link lines that use it: the daemon needs no
# libm, the CLI no libevent, plugins neither libevent nor jansson.
DAEMON_LIBS	= -levent -lmsgpackc -ljansson -lseccomp
CTL_LIBS	= -ljansson -lm
PLUGIN_LIBS	= -lmsgpackc
# PLUGIN_LIBS_NAME: what plugin NAME links beyond that (e.g. its TLS library).
# The IRC connector's TLS (plugins/irc/irctls.c): OpenSSL, in no other binary.
PLUGIN_LIBS_irc	= -lssl -lcrypto

GEN_DEFAULT = $(OBJ)/gen/default_config.o
# supervisor/dashboard.html, served at / by the HTTP endpoint (http.c).
GEN_DASHBOARD = $(OBJ)/gen/dashboard.o

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
# Fuzz targets built with tests/fuzz/replay.c instead of libFuzzer: make test
# replays the corpus kept in tests/fuzz/corpus/ through each.
FUZZ_TARGETS	= $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
REPLAY_BINS	= $(patsubst %,$(BUILD)/tests/fuzz/%-replay,$(FUZZ_TARGETS))

.PHONY: all deps run test check check-asan check-valgrind unit e2e bench chaos clean fuzz \
	install uninstall
.DEFAULT_GOAL := all

all: $(BINS) $(PLUGINS) $(TPLUG_C) $(UNIT_TESTS) $(BENCH_BINS) $(REPLAY_BINS)

deps:
	@scripts/install-deps

run: deps
	@$(MAKE) --no-print-directory all
	@echo "Ctrl-D or Ctrl-C stops it; socket: run/supervisor.sock (supervisorctl -c config/default.json status); dashboard: http://127.0.0.1:8421/"
	$(BUILD)/bin/supervisor

# Every test, in the normal build and in the sanitizer build; one summary line.
test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory BUILD=build-asan $(ASAN_VARS) all
	@scripts/run-tests build $(BUILD_VARS) build-asan $(ASAN_VARS)

check: all
	@scripts/run-tests $(BUILD) $(BUILD_VARS)

check-asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan $(ASAN_VARS) all
	@scripts/run-tests build-asan $(ASAN_VARS)

unit: $(UNIT_TESTS)
	@scripts/run-tests --unit-only $(BUILD)

e2e: all
	@scripts/run-tests --e2e-only $(BUILD) $(BUILD_VARS)

bench: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench $(BUILD)

fuzz:
	@scripts/install-deps --fuzz
	@scripts/fuzz

# A kill -9 storm under load, about two minutes (not in make test): writes the
# chaos section of docs/benchmarks.md.
chaos: deps
	@$(MAKE) --no-print-directory all
	@$(PYTHON) scripts/chaos.py $(BUILD)

# The daemon under valgrind memcheck through a short scenario (not in make test).
check-valgrind:
	@scripts/install-deps --valgrind
	@$(MAKE) --no-print-directory all
	@$(PYTHON) scripts/check-valgrind.py $(BUILD)

# Install what make built (no second build: the daemon finds its plugins
# and its system config from where its executable is, common/paths.c).
# Never overwrites a file that is not ours, nor an existing /etc config.
PREFIX	?= /usr/local
DESTDIR	?=
INSTALL_ENV = BUILD="$(BUILD)" PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" \
	PLUGIN_NAMES="$(C_PLUGINS) $(PY_PLUGINS)"

install: deps
	@$(MAKE) --no-print-directory $(BINS) $(PLUGINS)
	@$(INSTALL_ENV) scripts/install install

uninstall:
	@$(INSTALL_ENV) scripts/install uninstall

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

# The dashboard page compiled in the same way: no file to install or find.
$(OBJ)/gen/dashboard.c: supervisor/dashboard.html
	@mkdir -p $(@D)
	@{ echo '/* Generated from supervisor/dashboard.html. */'; \
	   echo '#include <stddef.h>'; \
	   echo 'const char dashboard_html[] = {'; \
	   od -An -v -tx1 $< | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	   echo '0x00 };'; \
	   echo 'const size_t dashboard_html_len = sizeof dashboard_html - 1;'; } > $@
$(OBJ)/gen/dashboard.o: $(OBJ)/gen/dashboard.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/bin/supervisor: $(call src2obj,$(MAIN_SRCS)) $(GEN_DEFAULT) $(GEN_DASHBOARD) \
    $(LIBSUP) $(LIBMOD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(DAEMON_LIBS)

# The CLI shares the verb table (verbs.h), not the daemon's code: no libevent.
$(BUILD)/bin/supervisorctl: $(call src2obj,$(CTL_SRCS) $(VERB_SRCS)) $(LIBMOD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(CTL_LIBS)

# A plugin links the SDK and what it needs below it, nothing of the daemon.
define c_plugin
$(BUILD)/plugins/$(1): $(call src2obj,$(wildcard plugins/$(1)/*.c)) $(LIBSDK) \
    $(BUILD)/lib/libipc.a $(BUILD)/lib/libcommon.a
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(PLUGIN_LIBS) $$(PLUGIN_LIBS_$(1))
endef
$(foreach p,$(C_PLUGINS),$(eval $(call c_plugin,$(p))))

define py_plugin
$(BUILD)/plugins/$(1): plugins/$(1)/$(1).py
	@mkdir -p $$(@D)
	install -m 755 $$< $$@
endef
$(foreach p,$(PY_PLUGINS),$(eval $(call py_plugin,$(p))))

# Tests, test plugins and benchmarks link through explicit (or static pattern)
# rules: their objects are then named by an explicit rule, not intermediates of
# a chain of implicit rules, which make would delete after linking and rebuild
# on every make. (make 4.3 has no .NOTINTERMEDIATE.) `make && make -q` exits 0,
# and scripts/run-tests checks it.
$(TPLUG_C): $(BUILD)/tests/plugins/%: $(OBJ)/tests/plugins/%.o $(LIBSDK) \
    $(BUILD)/lib/libipc.a $(BUILD)/lib/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PLUGIN_LIBS)

# Unit tests link only what they test, so the build proves the layering: a
# libevent or daemon symbol leaking into metrics/, ipc/ or config/ (or a call
# from one pure module into another) fails to link its test.
#
# The rule: a test named after a module, test_MOD or test_MOD_*, links
# UNIT_MOD_MOD (that module's library and the system libraries it needs).
# Any other test sets UNIT_LINK_test_NAME: the objects, libraries and -l flags
# it needs, nothing more; a daemon file that is free of libevent is linked as
# its object, not as libsupervisor.a. libcommon.a and cmocka always follow.
# A test with neither stops the build with a message saying so.
#
# Every library of a unit test is linked whole (--whole-archive), not just
# the members the test calls: each file of the module must then resolve
# against libcommon and the -l flags listed here, so a new file in metrics/
# that calls libevent breaks the build even if no test calls it.
UNIT_MOD_common		=
UNIT_MOD_ipc		= $(BUILD)/lib/libipc.a -lmsgpackc
UNIT_MOD_config		= $(BUILD)/lib/libconfig.a -ljansson
UNIT_MOD_metrics	= $(BUILD)/lib/libmetrics.a
UNIT_MOD_sdk		= $(BUILD)/lib/libsdk.a $(UNIT_MOD_ipc)
# test_config counts the file system calls config_parse makes (none): the
# calls that would be are wrapped at link time.
$(BUILD)/tests/unit/test_config: LDFLAGS += $(foreach f,open openat fopen stat \
	lstat access realpath getcwd getenv readlink opendir,-Wl,--wrap=$(f))

UNIT_LINK_test_ring	= $(UNIT_MOD_metrics)
UNIT_LINK_test_stats	= $(UNIT_MOD_metrics)
UNIT_LINK_test_sampler	= $(UNIT_MOD_metrics)
UNIT_LINK_test_jsonw	= $(OBJ)/supervisor/jsonw.o -ljansson
UNIT_LINK_test_restart	= $(OBJ)/supervisor/restart.o $(UNIT_MOD_config)
UNIT_LINK_test_dice	= $(OBJ)/plugins/dice-roller/dice.o
UNIT_LINK_test_irc	= $(OBJ)/plugins/irc/ircmsg.o $(OBJ)/plugins/irc/ircrate.o \
			  $(OBJ)/plugins/irc/ircsasl.o $(OBJ)/plugins/sdk/lines.o
# admin.c's identity matcher sits in the daemon's chat-admin file.
UNIT_LINK_test_admin	= $(LIBSUP) $(LIBMOD) $(DAEMON_LIBS)
UNIT_LINK_test_lifecycle = $(OBJ)/supervisor/lifecycle.o
# Alerts' bookkeeping and rule evaluation: pure, over the metrics rings.
UNIT_LINK_test_alert	= $(OBJ)/supervisor/alert-book.o \
			  $(OBJ)/supervisor/alert-eval.o $(UNIT_MOD_metrics) \
			  $(UNIT_MOD_config)
# http.c's request parsing sits in the daemon's HTTP file.
UNIT_LINK_test_http	= $(LIBSUP) $(LIBMOD) $(DAEMON_LIBS)
# The verb table and its formatters: what supervisorctl links, no daemon.
UNIT_LINK_test_verbs	= $(call src2obj,$(VERB_SRCS)) $(UNIT_MOD_metrics) -ljansson

UNIT_MODULES	= common ipc config metrics sdk
# $(call unit_module,test_NAME): the module the test is named after, if any.
unit_module	= $(firstword $(foreach m,$(UNIT_MODULES),$(if $(filter test_$(m) test_$(m)_%,$(1)),$(m))))
# $(call unit_link,test_NAME): its link set, by the rule above.
unit_link	= $(if $(filter undefined,$(origin UNIT_LINK_$(1))),$(if $(call unit_module,$(1)),$(UNIT_MOD_$(call unit_module,$(1))),$(error tests/unit/$(1).c: no link set: name it test_MODULE or set UNIT_LINK_$(1) in the Makefile)),$(UNIT_LINK_$(1)))

# Objects first, then the whole libraries, then -l flags.
define unit_test
$(BUILD)/tests/unit/$(1): $(OBJ)/tests/unit/$(1).o $(filter %.o %.a,$(call unit_link,$(1))) \
    $(BUILD)/lib/libcommon.a
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) \
	    -Wl,--whole-archive $$(filter %.a,$$^) -Wl,--no-whole-archive \
	    $(filter-out %.o %.a,$(call unit_link,$(1))) -lcmocka
endef
$(foreach t,$(notdir $(UNIT_TESTS)),$(eval $(call unit_test,$(t))))

# Fuzz targets for corpus replay: each links what its module needs, as a
# unit test does (FUZZ_LINK_NAME), plus replay.o and libcommon.
FUZZ_LINK_fuzz_ipc	= $(BUILD)/lib/libipc.a -lmsgpackc -lm
FUZZ_LINK_fuzz_config	= $(BUILD)/lib/libconfig.a -ljansson
FUZZ_LINK_fuzz_irc	= $(OBJ)/plugins/irc/ircmsg.o $(OBJ)/plugins/irc/ircrate.o \
			  $(OBJ)/plugins/irc/ircsasl.o $(OBJ)/plugins/sdk/lines.o
FUZZ_LINK_fuzz_control	= $(LIBSUP) $(LIBMOD) $(DAEMON_LIBS)
FUZZ_LINK_fuzz_statefile = $(BUILD)/lib/libmetrics.a
FUZZ_LINK_fuzz_http	= $(LIBSUP) $(LIBMOD) $(DAEMON_LIBS)
# supervisorctl's reader of a status reply, against the jansson path.
FUZZ_LINK_fuzz_status	= $(call src2obj,$(VERB_SRCS)) $(UNIT_MOD_metrics) -ljansson
fuzz_link	= $(if $(filter undefined,$(origin FUZZ_LINK_$(1))),$(error tests/fuzz/$(1).c: no link set: set FUZZ_LINK_$(1) in the Makefile),$(FUZZ_LINK_$(1)))

define fuzz_replay
$(BUILD)/tests/fuzz/$(1)-replay: $(OBJ)/tests/fuzz/$(1).o $(OBJ)/tests/fuzz/replay.o \
    $(filter %.o %.a,$(call fuzz_link,$(1))) $(BUILD)/lib/libcommon.a
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $$(filter %.a,$$^) \
	    $(filter-out %.o %.a,$(call fuzz_link,$(1)))
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_replay,$(t))))

# Benchmarks drive the whole daemon.
$(BENCH_BINS): $(BUILD)/bench/%: $(OBJ)/bench/%.o $(LIBSUP) $(LIBSDK) $(LIBMOD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(DAEMON_LIBS) -lm

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
