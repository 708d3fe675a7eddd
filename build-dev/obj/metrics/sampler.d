build-dev/obj/metrics/sampler.o: metrics/sampler.c common/common.h \
 metrics/metrics.h
common/common.h:
metrics/metrics.h:
