/*
 * lines.c: cutting a reply into chat-sized lines, shared by the console and
 * IRC connectors. A line of text ends at CR, LF or CR LF; a line longer
 * than the room is cut into pieces, preferring a space (dropped) in the
 * second half of the room, so words stay whole without making a line very
 * short, else a place that splits no UTF-8 sequence.
 */
#include "plugins/sdk/lines.h"

/* 1 if c is a UTF-8 continuation byte (10xxxxxx). */
static int
sdk_utf8_cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/*
 * Length of the first piece of s (more than room bytes) that fits in room;
 * *skip is 1 if the piece ends at a space that is dropped. A UTF-8
 * sequence has at most 3 continuation bytes: if more precede the cut, the
 * text is not UTF-8 and any cut will do. Always at least 1, so each piece
 * makes progress.
 */
static size_t
sdk_split_at(const char *s, size_t room, int *skip)
{
	size_t	i, cut;

	*skip = 0;
	for (i = room; i > room / 2; i--) {
		if (s[i] == ' ') {
			*skip = 1;
			return i;
		}
	}
	cut = room;
	while (cut > 0 && cut + 3 > room &&
	    sdk_utf8_cont((unsigned char)s[cut]))
		cut--;
	if (cut == 0 || sdk_utf8_cont((unsigned char)s[cut]))
		cut = room;
	return cut;
}

/*
 * Hand text (len bytes) to cb as lines of at most room bytes (room >= 1),
 * in order. An empty line of the text is handed out as an empty line; the
 * end of the text after a last line break is not a line, nor is the space
 * dropped at the end of a cut. Returns the number of lines handed out.
 */
size_t
sdk_split_lines(const char *text, size_t len, size_t room, sdk_line_cb cb,
    void *arg)
{
	const char	*s = text, *end = text + len, *eol;
	size_t		 n, cut, count = 0;
	int		 skip;

	if (room < 1)
		room = 1;
	while (s < end) {
		for (eol = s; eol < end && *eol != '\r' && *eol != '\n'; eol++)
			;
		n = (size_t)(eol - s);
		if (n == 0) {
			cb(s, 0, arg);
			count++;
		}
		while (n > 0) {
			if (n <= room) {
				cb(s, n, arg);
				count++;
				break;
			}
			cut = sdk_split_at(s, room, &skip);
			cb(s, cut, arg);
			count++;
			s += cut + skip;
			n -= cut + skip;
		}
		/* Past the line break: CR LF is one. */
		s = eol;
		if (s < end)
			s += (*s == '\r' && s + 1 < end && s[1] == '\n') ? 2 : 1;
	}
	return count;
}
