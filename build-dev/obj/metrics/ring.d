build-dev/obj/metrics/ring.o: metrics/ring.c common/common.h \
 metrics/metrics.h metrics/metrics-int.h
common/common.h:
metrics/metrics.h:
metrics/metrics-int.h:
