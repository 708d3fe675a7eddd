build-dev/obj/plugins/dice-roller/main.o: plugins/dice-roller/main.c \
 common/common.h plugins/dice-roller/dice.h plugins/sdk/sdk.h
common/common.h:
plugins/dice-roller/dice.h:
plugins/sdk/sdk.h:
