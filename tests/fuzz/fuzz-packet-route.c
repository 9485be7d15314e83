/* libFuzzer target: routing packets among a session's transports
 * (relay/packet-route.c), which reads the RTCP of any peer.
 *
 * The first input byte picks the mode and a transport, the rest is the
 * packet: learnt as received on that transport, then looked up as RTP and
 * as RTCP.  A lookup must name a transport that was set (or 0), and
 * never read past the packet (ASan), whatever the length words say. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "packet-route.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static BfPacketRoute route;
  static int ready;
  if (!ready)
    {
      bf_packet_route_init (&route);
      bf_packet_route_set_pt (&route, 111, 1);
      bf_packet_route_set_pt (&route, 96, 2);
      ready = 1;
    }
  if (size < 1)
    return 0;
  guint transport = data[0] % 4;
  /* An exact-size copy: ASan sees any read past the end. */
  uint8_t *p = malloc (size - 1 ? size - 1 : 1);
  memcpy (p, data + 1, size - 1);
  bf_packet_route_learn (&route, (data[0] & 0x80) != 0, p, size - 1, transport);
  guint a = bf_packet_route_lookup (&route, FALSE, p, size - 1);
  guint b = bf_packet_route_lookup (&route, TRUE, p, size - 1);
  free (p);
  if (a > 3 || b > 3)
    abort ();
  return 0;
}
