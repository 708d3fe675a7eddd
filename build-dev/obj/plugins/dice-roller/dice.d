build-dev/obj/plugins/dice-roller/dice.o: plugins/dice-roller/dice.c \
 common/common.h plugins/dice-roller/dice.h
common/common.h:
plugins/dice-roller/dice.h:
