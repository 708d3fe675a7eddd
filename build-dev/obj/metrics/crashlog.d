build-dev/obj/metrics/crashlog.o: metrics/crashlog.c common/common.h \
 metrics/metrics.h
common/common.h:
metrics/metrics.h:
