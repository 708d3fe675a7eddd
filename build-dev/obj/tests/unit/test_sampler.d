build-dev/obj/tests/unit/test_sampler.o: tests/unit/test_sampler.c \
 metrics/metrics.h
metrics/metrics.h:
