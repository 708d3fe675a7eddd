build-dev/obj/ipc/ipc.o: ipc/ipc.c common/common.h ipc/ipc.h
common/common.h:
ipc/ipc.h:
