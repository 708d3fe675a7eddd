build-dev/obj/supervisor/cmd.o: supervisor/cmd.c metrics/metrics.h \
 supervisor/supervisor.h common/breaker.h common/common.h common/hmap.h \
 config/config.h ipc/ipc.h
metrics/metrics.h:
supervisor/supervisor.h:
common/breaker.h:
common/common.h:
common/hmap.h:
config/config.h:
ipc/ipc.h:
