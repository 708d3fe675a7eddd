build-dev/obj/plugins/sdk/sdk.o: plugins/sdk/sdk.c common/common.h \
 ipc/ipc.h plugins/sdk/sdk.h
common/common.h:
ipc/ipc.h:
plugins/sdk/sdk.h:
