build-dev/obj/tests/unit/test_restart.o: tests/unit/test_restart.c \
 supervisor/supervisor.h common/breaker.h common/common.h common/hmap.h \
 config/config.h ipc/ipc.h
supervisor/supervisor.h:
common/breaker.h:
common/common.h:
common/hmap.h:
config/config.h:
ipc/ipc.h:
