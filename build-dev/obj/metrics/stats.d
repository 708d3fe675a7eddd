build-dev/obj/metrics/stats.o: metrics/stats.c common/common.h \
 metrics/metrics.h metrics/metrics-int.h
common/common.h:
metrics/metrics.h:
metrics/metrics-int.h:
