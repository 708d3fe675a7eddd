build-dev/obj/supervisor/admin.o: supervisor/admin.c \
 supervisor/supervisor.h common/breaker.h common/common.h common/hmap.h \
 config/config.h ipc/ipc.h
supervisor/supervisor.h:
common/breaker.h:
common/common.h:
common/hmap.h:
config/config.h:
ipc/ipc.h:
