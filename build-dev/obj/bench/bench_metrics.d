build-dev/obj/bench/bench_metrics.o: bench/bench_metrics.c \
 common/common.h metrics/metrics.h
common/common.h:
metrics/metrics.h:
