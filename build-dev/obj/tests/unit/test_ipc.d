build-dev/obj/tests/unit/test_ipc.o: tests/unit/test_ipc.c \
 common/common.h ipc/ipc.h
common/common.h:
ipc/ipc.h:
