build-dev/obj/supervisor/supervisorctl.o: supervisor/supervisorctl.c \
 metrics/metrics.h supervisor/supervisor.h common/breaker.h \
 common/common.h common/hmap.h config/config.h ipc/ipc.h
metrics/metrics.h:
supervisor/supervisor.h:
common/breaker.h:
common/common.h:
common/hmap.h:
config/config.h:
ipc/ipc.h:
