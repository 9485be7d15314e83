/* The RTP descriptions of relayed and echoed calls (jingle/jingle-describe.c)
 * and the packet map that follows from them, on what real clients send: a
 * Chrome offer as StanzaJS writes it (opus 111, red 63 "111/111", VP8 96
 * with rtx 97 apt=96, VP9 98/100, red 116, ulpfec 118, the usual header
 * extensions) and callees answering with the same or with their own
 * numbers (RFC 3264 §6.1, XEP-0167 §5, RFC 4588 §8.6, XEP-0294). */
#include <stdarg.h>
#include <string.h>
#include <glib.h>

#include <belfry/stanza.h>
#include <belfry/session.h>

#include "rtp-map-apply.h"
#include "jingle.h"
#include "jingle-describe.h"

#define URI_LEVEL   "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
#define URI_AST     "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
#define URI_TWCC    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define URI_MID     "urn:ietf:params:rtp-hdrext:sdes:mid"
#define URI_TOFFSET "urn:ietf:params:rtp-hdrext:toffset"
#define URI_ORIENT  "urn:3gpp:video-orientation"
#define URI_PLAYOUT "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
#define URI_RID     "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
#define URI_RRID    "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
#define URI_CSRC    "urn:ietf:params:rtp-hdrext:csrc-audio-level"

#define CALLER_A  0x11111111u   /* caller's audio SSRC */
#define CALLER_V  0x22222222u   /* caller's video SSRC */
#define CALLER_VR 0x33333333u   /* caller's video rtx SSRC */
#define CALLEE_A  0x44444444u
#define CALLEE_V  0x55555555u
#define CALLEE_VR 0x66666666u

/* --- helpers --- */

/* A payload type with name/value parameter pairs, NULL-terminated. */
static BfJinglePayloadType *
add_pt (BfJingleRtpDescription *rtp, guint8 id, const char *name, guint32 clockrate,
        guint channels, ...)   /* not guint8: va_start needs an unpromoted type */
{
  BfJinglePayloadType *pt = bf_jingle_rtp_add_payload_type (rtp, id, name, clockrate,
                                                            (guint8) channels);
  va_list ap;
  va_start (ap, channels);
  const char *key;
  while ((key = va_arg (ap, const char *)) != NULL)
    bf_jingle_parameters_add (pt->parameters, key, va_arg (ap, const char *));
  va_end (ap);
  return pt;
}

static void
add_rtx (BfJingleRtpDescription *rtp, guint8 id, const char *apt)
{
  add_pt (rtp, id, "rtx", 90000, 0, "apt", apt, NULL);
}

/* Chrome's video feedback. */
static void
video_fb (BfJinglePayloadType *pt)
{
  bf_jingle_rtcp_fb_add (pt->rtcp_fb, "goog-remb", NULL);
  bf_jingle_rtcp_fb_add (pt->rtcp_fb, "transport-cc", NULL);
  bf_jingle_rtcp_fb_add (pt->rtcp_fb, "ccm", "fir");
  bf_jingle_rtcp_fb_add (pt->rtcp_fb, "nack", NULL);
  bf_jingle_rtcp_fb_add (pt->rtcp_fb, "nack", "pli");
}

static void
add_source (BfJingleRtpDescription *rtp, guint32 ssrc, const char *cname, const char *msid)
{
  BfJingleSource *s = bf_jingle_rtp_add_source (rtp, ssrc);
  bf_jingle_parameters_add (s->parameters, "cname", cname);
  bf_jingle_parameters_add (s->parameters, "msid", msid);
}

static void
add_fid (BfJingleRtpDescription *rtp, guint32 a, guint32 b)
{
  const guint32 ssrcs[] = { a, b };
  bf_jingle_rtp_add_ssrc_group (rtp, "FID", ssrcs, 2);
}

/* Chrome's audio offer (trimmed to one of each kind). */
static BfJingleRtpDescription *
chrome_audio (void)
{
  BfJingleRtpDescription *rtp = bf_jingle_rtp_description_new ("audio");
  BfJinglePayloadType *opus = add_pt (rtp, 111, "opus", 48000, 2,
                                      "minptime", "10", "useinbandfec", "1", NULL);
  bf_jingle_rtcp_fb_add (opus->rtcp_fb, "transport-cc", NULL);
  BfJinglePayloadType *red = add_pt (rtp, 63, "red", 48000, 2, NULL);
  bf_jingle_parameters_add (red->parameters, "111/111", NULL);
  add_pt (rtp, 9, "G722", 8000, 1, NULL);
  add_pt (rtp, 0, "PCMU", 8000, 1, NULL);
  add_pt (rtp, 8, "PCMA", 8000, 1, NULL);
  add_pt (rtp, 13, "CN", 8000, 1, NULL);
  add_pt (rtp, 110, "telephone-event", 48000, 1, NULL);
  add_pt (rtp, 126, "telephone-event", 8000, 1, NULL);
  bf_jingle_rtp_add_hdrext (rtp, 1, URI_LEVEL, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (rtp, 2, URI_AST, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (rtp, 3, URI_TWCC, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (rtp, 4, URI_MID, BF_JINGLE_SENDERS_BOTH);
  rtp->extmap_allow_mixed = TRUE;
  rtp->rtcp_mux = TRUE;
  add_source (rtp, CALLER_A, "chrome-cname", "stream-1 track-a");
  return rtp;
}

/* Chrome's video offer (VP8, both VP9 profiles, red/ulpfec, each with its
 * rtx). */
static BfJingleRtpDescription *
chrome_video (void)
{
  BfJingleRtpDescription *rtp = bf_jingle_rtp_description_new ("video");
  video_fb (add_pt (rtp, 96, "VP8", 90000, 0, NULL));
  add_rtx (rtp, 97, "96");
  video_fb (add_pt (rtp, 98, "VP9", 90000, 0, "profile-id", "0", NULL));
  add_rtx (rtp, 99, "98");
  video_fb (add_pt (rtp, 100, "VP9", 90000, 0, "profile-id", "2", NULL));
  add_rtx (rtp, 101, "100");
  add_pt (rtp, 116, "red", 90000, 0, NULL);
  add_rtx (rtp, 117, "116");
  add_pt (rtp, 118, "ulpfec", 90000, 0, NULL);
  bf_jingle_rtp_add_hdrext (rtp, 14, URI_TOFFSET, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (rtp, 2, URI_AST, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (rtp, 13, URI_ORIENT, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (rtp, 3, URI_TWCC, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (rtp, 5, URI_PLAYOUT, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (rtp, 4, URI_MID, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (rtp, 10, URI_RID, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (rtp, 11, URI_RRID, BF_JINGLE_SENDERS_BOTH);
  rtp->extmap_allow_mixed = TRUE;
  rtp->rtcp_mux = TRUE;
  add_source (rtp, CALLER_V, "chrome-cname", "stream-1 track-v");
  add_source (rtp, CALLER_VR, "chrome-cname", "stream-1 track-v");
  add_fid (rtp, CALLER_V, CALLER_VR);
  return rtp;
}

/* A BfJingle holding @rtps (NULL-terminated) as contents named by media;
 * takes ownership. */
static BfJingle *
jingle_of (BfJingleRtpDescription *first, ...)
{
  BfJingle *j = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, "sid");
  va_list ap;
  va_start (ap, first);
  for (BfJingleRtpDescription *rtp = first; rtp; rtp = va_arg (ap, BfJingleRtpDescription *))
    {
      BfJingleContent *c = bf_jingle_add_content (j, BF_JINGLE_CREATOR_INITIATOR, rtp->media);
      bf_jingle_content_take_rtp (c, rtp);
    }
  va_end (ap);
  return j;
}

/* Deep equality of two descriptions, printed as XML when they differ. */
static void
assert_rtp_equal (const BfJingleRtpDescription *got, const BfJingleRtpDescription *want)
{
  BfJingle *a = jingle_of (NULL), *b = jingle_of (NULL);
  BfJingleContent *ca = bf_jingle_add_content (a, BF_JINGLE_CREATOR_INITIATOR, "x");
  BfJingleContent *cb = bf_jingle_add_content (b, BF_JINGLE_CREATOR_INITIATOR, "x");
  ca->description_kind = cb->description_kind = BF_JINGLE_DESCRIPTION_RTP;
  ca->description_ns = g_strdup (BF_NS_JINGLE_RTP);
  cb->description_ns = g_strdup (BF_NS_JINGLE_RTP);
  ca->rtp = (BfJingleRtpDescription *) got;
  cb->rtp = (BfJingleRtpDescription *) want;
  gboolean equal = bf_jingle_equal (a, b);
  if (!equal)
    {
      g_autoptr (BfStanza) sa = bf_jingle_build (a, NULL, NULL, NULL);
      g_autoptr (BfStanza) sb = bf_jingle_build (b, NULL, NULL, NULL);
      g_autofree char *xa = bf_stanza_to_string (sa);
      g_autofree char *xb = bf_stanza_to_string (sb);
      g_printerr ("got:  %s\nwant: %s\n", xa, xb);
    }
  ca->rtp = cb->rtp = NULL;
  bf_jingle_free (a);
  bf_jingle_free (b);
  g_assert_true (equal);
}

static const char *
param (const GPtrArray *parameters, const char *name)
{
  for (guint i = 0; i < parameters->len; i++)
    {
      const BfJingleParameter *p = g_ptr_array_index (parameters, i);
      if (g_strcmp0 (p->name, name) == 0)
        return p->value;
    }
  return NULL;
}

/* The ids of @rtp's payload types, in order, as "96 97 116". */
static char *
pt_ids (const BfJingleRtpDescription *rtp)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < rtp->payload_types->len; i++)
    {
      const BfJinglePayloadType *pt = g_ptr_array_index (rtp->payload_types, i);
      g_string_append_printf (s, "%s%u", i ? " " : "", pt->id);
    }
  return g_string_free (s, FALSE);
}

/* Every entry of @map maps to itself except the (from, to) pairs in
 * @pt_pairs / @ext_pairs (flat arrays, @n_* pairs each). */
static void
assert_map (const BfRtpMap *map, const guint *pt_pairs, guint n_pt, const guint *ext_pairs,
            guint n_ext)
{
  guint8 want_pt[128], want_ext[256];
  for (guint i = 0; i < 128; i++)
    want_pt[i] = (guint8) i;
  for (guint i = 0; i < 256; i++)
    want_ext[i] = (guint8) i;
  for (guint i = 0; i < n_pt; i++)
    want_pt[pt_pairs[2 * i]] = (guint8) pt_pairs[2 * i + 1];
  for (guint i = 0; i < n_ext; i++)
    want_ext[ext_pairs[2 * i]] = (guint8) ext_pairs[2 * i + 1];
  for (guint i = 0; i < 128; i++)
    if (map->pt[i] != want_pt[i])
      g_test_message ("pt %u -> %u, want %u", i, map->pt[i], want_pt[i]);
  for (guint i = 0; i < 256; i++)
    if (map->ext[i] != want_ext[i])
      g_test_message ("ext %u -> %u, want %u", i, map->ext[i], want_ext[i]);
  g_assert_cmpmem (map->pt, sizeof map->pt, want_pt, sizeof want_pt);
  g_assert_cmpmem (map->ext, sizeof map->ext, want_ext, sizeof want_ext);
}

/* --- bf_jingle_describe_mirror_offer --- */

/* Everything the offer says that is not SDES: a richer offer than Chrome's
 * (ptime, trr-int, feedback and extension parameters, bandwidth). */
static BfJingleRtpDescription *
rich_offer (gboolean with_crypto)
{
  BfJingleRtpDescription *rtp = chrome_video ();
  BfJinglePayloadType *vp8 = bf_jingle_rtp_find_payload_type (rtp, 96);
  vp8->ptime = 20;
  vp8->maxptime = 40;
  vp8->has_trr_int = TRUE;
  vp8->trr_int = 100;
  BfJingleRtcpFb *fb = bf_jingle_rtcp_fb_add (vp8->rtcp_fb, "ccm", "tmmbr");
  bf_jingle_parameters_add (fb->parameters, "smaxpr", "120");
  bf_jingle_rtcp_fb_add (rtp->rtcp_fb, "nack", "sli");
  rtp->has_trr_int = TRUE;
  rtp->trr_int = 50;
  BfJingleHdrext *h = bf_jingle_rtp_add_hdrext (rtp, 12, URI_CSRC, BF_JINGLE_SENDERS_INITIATOR);
  bf_jingle_parameters_add (h->parameters, "vad", "on");
  rtp->rtcp_reduced_size = TRUE;
  rtp->bandwidth_type = g_strdup ("AS");
  rtp->bandwidth = g_strdup ("2000");
  const guint32 sim[] = { CALLER_V, CALLER_VR };
  bf_jingle_rtp_add_ssrc_group (rtp, "SIM", sim, 2);
  if (with_crypto)
    {
      rtp->rtcp_mux = FALSE;
      rtp->has_encryption = TRUE;
      rtp->encryption_required = TRUE;
      BfJingleCrypto *c = g_new0 (BfJingleCrypto, 1);
      c->crypto_suite = g_strdup ("AES_CM_128_HMAC_SHA1_80");
      c->key_params = g_strdup ("inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:32");
      c->tag = g_strdup ("1");
      g_ptr_array_add (rtp->crypto, c);
    }
  return rtp;
}

static void
test_mirror_offer (void)
{
  BfJingleRtpDescription *offer = rich_offer (TRUE);
  g_autoptr (BfJingleRtpDescription) mirror = bf_jingle_describe_mirror_offer (offer);
  /* a deep copy: nothing is shared with the offer */
  const BfJinglePayloadType *o = bf_jingle_rtp_find_payload_type (offer, 96), *m = bf_jingle_rtp_find_payload_type (mirror, 96);
  g_assert_nonnull (m);
  g_assert_true (m != o && m->name != o->name && m->parameters != o->parameters);
  bf_jingle_rtp_description_free (offer);
  /* the same, without SDES and with rtcp-mux */
  g_autoptr (BfJingleRtpDescription) want = rich_offer (FALSE);
  assert_rtp_equal (mirror, want);
  g_assert_true (mirror->rtcp_mux);
  g_assert_false (mirror->has_encryption);
  g_assert_cmpuint (mirror->crypto->len, ==, 0);
}

static void
test_mirror_offer_audio (void)
{
  g_autoptr (BfJingleRtpDescription) offer = chrome_audio ();
  offer->rtcp_mux = FALSE;
  g_autoptr (BfJingleRtpDescription) mirror = bf_jingle_describe_mirror_offer (offer);
  offer->rtcp_mux = TRUE;
  assert_rtp_equal (mirror, offer);
  /* red's parameter without a value stays without one */
  const BfJinglePayloadType *red = bf_jingle_rtp_find_payload_type (mirror, 63);
  const BfJingleParameter *p = g_ptr_array_index (red->parameters, 0);
  g_assert_cmpstr (p->name, ==, "111/111");
  g_assert_null (p->value);
}

/* --- bf_jingle_describe_mirror_answer --- */

/* A callee that follows RFC 3264 and answers under our (the caller's)
 * numbers, a subset in its own order with its own feedback. */
static BfJingleRtpDescription *
callee_video_same (const char *media)
{
  BfJingleRtpDescription *rtp = bf_jingle_rtp_description_new (media);
  BfJinglePayloadType *vp8 = add_pt (rtp, 96, "VP8", 90000, 0, NULL);
  bf_jingle_rtcp_fb_add (vp8->rtcp_fb, "nack", NULL);
  bf_jingle_rtcp_fb_add (vp8->rtcp_fb, "nack", "pli");
  bf_jingle_rtcp_fb_add (vp8->rtcp_fb, "ccm", "fir");
  add_rtx (rtp, 97, "96");
  add_pt (rtp, 116, "red", 90000, 0, NULL);
  add_rtx (rtp, 117, "116");
  add_pt (rtp, 118, "ulpfec", 90000, 0, NULL);
  bf_jingle_rtp_add_hdrext (rtp, 14, URI_TOFFSET, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (rtp, 2, URI_AST, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (rtp, 4, URI_MID, BF_JINGLE_SENDERS_BOTH);
  rtp->rtcp_mux = TRUE;
  add_source (rtp, CALLEE_V, "callee", "s t");
  add_source (rtp, CALLEE_VR, "callee", "s t");
  add_fid (rtp, CALLEE_V, CALLEE_VR);
  return rtp;
}

static void
test_mirror_answer_same_numbers (void)
{
  g_autoptr (BfJingleRtpDescription) caller = chrome_video ();
  g_autoptr (BfJingleRtpDescription) callee = callee_video_same ("video");
  g_autoptr (BfJingleRtpDescription) answer = bf_jingle_describe_mirror_answer (caller, callee);
  /* exactly the callee's answer; the caller allows mixed extmaps, the
   * callee does not: not allowed */
  assert_rtp_equal (answer, callee);
  g_assert_false (answer->extmap_allow_mixed);
  /* nothing is shared with the callee's description */
  g_assert_true (bf_jingle_rtp_find_payload_type (answer, 96)->parameters != bf_jingle_rtp_find_payload_type (callee, 96)->parameters);
}

static void
test_mirror_answer_renumbered (void)
{
  /* audio: the callee has opus at 109 (its own parameters), telephone-event
   * 8000 at 101 */
  g_autoptr (BfJingleRtpDescription) caller_a = chrome_audio ();
  g_autoptr (BfJingleRtpDescription) callee_a = bf_jingle_rtp_description_new ("audio");
  BfJinglePayloadType *opus = add_pt (callee_a, 109, "opus", 48000, 2,
                                      "stereo", "1", "useinbandfec", "1", NULL);
  bf_jingle_rtcp_fb_add (opus->rtcp_fb, "transport-cc", NULL);
  add_pt (callee_a, 101, "telephone-event", 8000, 1, NULL);
  add_source (callee_a, CALLEE_A, "callee", "s a");
  g_autoptr (BfJingleRtpDescription) answer_a
    = bf_jingle_describe_mirror_answer (caller_a, callee_a);

  g_autoptr (BfJingleRtpDescription) want_a = bf_jingle_rtp_description_new ("audio");
  opus = add_pt (want_a, 111, "opus", 48000, 2, "stereo", "1", "useinbandfec", "1", NULL);
  bf_jingle_rtcp_fb_add (opus->rtcp_fb, "transport-cc", NULL);
  add_pt (want_a, 126, "telephone-event", 8000, 1, NULL);   /* not 110: 48000 */
  want_a->rtcp_mux = TRUE;
  add_source (want_a, CALLEE_A, "callee", "s a");
  assert_rtp_equal (answer_a, want_a);

  /* video: VP8 100, its rtx 101 apt=100, red 120, ulpfec 122 */
  g_autoptr (BfJingleRtpDescription) caller_v = chrome_video ();
  g_autoptr (BfJingleRtpDescription) callee_v = bf_jingle_rtp_description_new ("video");
  video_fb (add_pt (callee_v, 100, "VP8", 90000, 0, NULL));
  add_rtx (callee_v, 101, "100");
  add_pt (callee_v, 120, "red", 90000, 0, NULL);
  add_pt (callee_v, 122, "ulpfec", 90000, 0, NULL);
  g_autoptr (BfJingleRtpDescription) answer_v
    = bf_jingle_describe_mirror_answer (caller_v, callee_v);
  const BfJinglePayloadType *vp8 = bf_jingle_rtp_find_payload_type (answer_v, 96);
  g_assert_nonnull (vp8);
  g_assert_cmpstr (vp8->name, ==, "VP8");
  g_assert_cmpuint (vp8->rtcp_fb->len, ==, 5);
  g_assert_nonnull (bf_jingle_rtp_find_payload_type (answer_v, 116));
  g_assert_cmpstr (bf_jingle_rtp_find_payload_type (answer_v, 116)->name, ==, "red");
  g_assert_nonnull (bf_jingle_rtp_find_payload_type (answer_v, 118));
  g_assert_cmpstr (bf_jingle_rtp_find_payload_type (answer_v, 118)->name, ==, "ulpfec");
  g_assert_null (bf_jingle_rtp_find_payload_type (answer_v, 100));   /* VP9 profile 2 in the caller's numbering */
  g_assert_null (bf_jingle_rtp_find_payload_type (answer_v, 120));
  g_assert_null (bf_jingle_rtp_find_payload_type (answer_v, 122));
  /* the rtx names the VP8 under the caller's number */
  g_assert_cmpuint (answer_v->payload_types->len, ==, 4);
  for (guint i = 0; i < answer_v->payload_types->len; i++)
    {
      const BfJinglePayloadType *pt = g_ptr_array_index (answer_v->payload_types, i);
      if (g_strcmp0 (pt->name, "rtx") == 0)
        g_assert_cmpstr (param (pt->parameters, "apt"), ==, "96");
    }
}

/* The plain apt case: the caller has one VP8 with its rtx, the callee
 * renumbers both. */
static void
test_mirror_answer_apt (void)
{
  g_autoptr (BfJingleRtpDescription) caller = bf_jingle_rtp_description_new ("video");
  add_pt (caller, 96, "VP8", 90000, 0, NULL);
  add_rtx (caller, 97, "96");
  g_autoptr (BfJingleRtpDescription) callee = bf_jingle_rtp_description_new ("video");
  add_pt (callee, 100, "VP8", 90000, 0, NULL);
  add_pt (callee, 101, "rtx", 90000, 0, "apt", "100", "rtx-time", "3000", NULL);
  g_autoptr (BfJingleRtpDescription) answer = bf_jingle_describe_mirror_answer (caller, callee);
  g_autoptr (BfJingleRtpDescription) want = bf_jingle_rtp_description_new ("video");
  add_pt (want, 96, "VP8", 90000, 0, NULL);
  add_pt (want, 97, "rtx", 90000, 0, "apt", "96", "rtx-time", "3000", NULL);
  want->rtcp_mux = TRUE;
  assert_rtp_equal (answer, want);
  /* an rtx whose apt is no number (or names nothing) retransmits nothing
   * the caller knows: it is left out */
  g_autoptr (BfJingleRtpDescription) odd = bf_jingle_rtp_description_new ("video");
  add_pt (odd, 100, "VP8", 90000, 0, NULL);
  add_pt (odd, 101, "rtx", 90000, 0, "apt", "x100", NULL);
  g_autoptr (BfJingleRtpDescription) answer2 = bf_jingle_describe_mirror_answer (caller, odd);
  g_autofree char *ids2 = pt_ids (answer2);
  g_assert_cmpstr (ids2, ==, "96");
}

/* The callee answers a codec the caller did not offer: it is left out. */
static void
test_mirror_answer_not_offered (void)
{
  g_autoptr (BfJingleRtpDescription) caller = bf_jingle_rtp_description_new ("video");
  add_pt (caller, 96, "VP8", 90000, 0, NULL);
  add_rtx (caller, 97, "96");
  add_pt (caller, 98, "VP9", 90000, 0, "profile-id", "0", NULL);
  add_rtx (caller, 99, "98");
  g_autoptr (BfJingleRtpDescription) callee = bf_jingle_rtp_description_new ("video");
  add_pt (callee, 102, "H264", 90000, 0, "packetization-mode", "1", NULL);
  add_pt (callee, 96, "VP8", 90000, 0, NULL);
  add_rtx (callee, 97, "96");
  add_pt (callee, 35, "AV1", 90000, 0, NULL);
  g_autoptr (BfJingleRtpDescription) answer = bf_jingle_describe_mirror_answer (caller, callee);
  g_autofree char *ids = pt_ids (answer);
  g_assert_cmpstr (ids, ==, "96 97");
  g_assert_cmpstr (param (bf_jingle_rtp_find_payload_type (answer, 97)->parameters, "apt"), ==, "96");
}

/* RFC 4588 §8.6: an rtx names its original.  When that original is left
 * out (the callee's AV1 here, not offered), its rtx must go too; it may not
 * take one of the caller's rtx numbers and keep an apt that points at
 * nothing (or, in the caller's numbering, at another codec). */
static void
test_mirror_answer_orphan_rtx (void)
{
  g_autoptr (BfJingleRtpDescription) caller = bf_jingle_rtp_description_new ("video");
  add_pt (caller, 96, "VP8", 90000, 0, NULL);
  add_rtx (caller, 97, "96");
  add_pt (caller, 98, "VP9", 90000, 0, NULL);
  add_rtx (caller, 99, "98");
  g_autoptr (BfJingleRtpDescription) callee = bf_jingle_rtp_description_new ("video");
  add_pt (callee, 45, "AV1", 90000, 0, NULL);
  add_rtx (callee, 46, "45");
  add_pt (callee, 96, "VP8", 90000, 0, NULL);
  add_rtx (callee, 97, "96");
  g_autoptr (BfJingleRtpDescription) answer = bf_jingle_describe_mirror_answer (caller, callee);
  g_autofree char *ids = pt_ids (answer);
  g_test_message ("answer: %s", ids);
  for (guint i = 0; i < answer->payload_types->len; i++)
    {
      const BfJinglePayloadType *pt = g_ptr_array_index (answer->payload_types, i);
      if (g_strcmp0 (pt->name, "rtx") == 0)
        {
          guint64 apt = 0;
          g_assert_true (g_ascii_string_to_unsigned (param (pt->parameters, "apt"), 10, 0, 127,
                                                     &apt, NULL));
          g_test_message ("rtx %u apt=%u", pt->id, (guint) apt);
          g_assert_nonnull (bf_jingle_rtp_find_payload_type (answer, (guint) apt));
        }
    }
  g_assert_cmpstr (ids, ==, "96 97");
}

/* RFC 4588 §8.6 again: with Chrome's several rtx types, the callee's
 * renumbered rtx must land on the caller's rtx for the same original.
 * The caller will send its retransmissions under the numbers of our
 * answer, and the packet map must turn each into the callee's rtx for the
 * same original. */
static void
test_mirror_answer_rtx_by_apt (void)
{
  BfJingleRtpDescription *caller = chrome_video ();
  BfJingleRtpDescription *callee = bf_jingle_rtp_description_new ("video");
  video_fb (add_pt (callee, 100, "VP8", 90000, 0, NULL));
  add_rtx (callee, 101, "100");
  add_pt (callee, 120, "red", 90000, 0, NULL);
  add_rtx (callee, 121, "120");
  add_pt (callee, 122, "ulpfec", 90000, 0, NULL);
  g_autoptr (BfJingleRtpDescription) answer = bf_jingle_describe_mirror_answer (caller, callee);
  g_autoptr (BfJingle) sent = jingle_of (caller, NULL);
  g_autoptr (BfJingle) heard = jingle_of (callee, NULL);
  BfRtpMap map;
  bf_jingle_describe_rtp_map (sent, heard, &map);
  g_autofree char *ids = pt_ids (answer);
  g_test_message ("answer: %s", ids);
  for (guint i = 0; i < answer->payload_types->len; i++)
    {
      const BfJinglePayloadType *pt = g_ptr_array_index (answer->payload_types, i);
      const BfJinglePayloadType *there = bf_jingle_rtp_find_payload_type (callee, map.pt[pt->id]);
      g_test_message ("%s %u -> %u %s (apt %s -> %s)", pt->name, pt->id, map.pt[pt->id],
                      there ? there->name : "-", param (pt->parameters, "apt"),
                      there ? param (there->parameters, "apt") : "-");
      g_assert_nonnull (there);
      if (there == NULL)
        continue;
      g_assert_cmpstr (there->name, ==, pt->name);
      if (g_strcmp0 (pt->name, "rtx") == 0)
        {
          guint apt = (guint) g_ascii_strtoull (param (pt->parameters, "apt"), NULL, 10);
          g_autofree char *want = g_strdup_printf ("%u", map.pt[apt]);
          g_assert_cmpstr (param (there->parameters, "apt"), ==, want);
        }
    }
  /* and the caller's own numbers for them (RFC 3264 §6.1) */
  g_assert_cmpstr (ids, ==, "96 97 116 117 118");
}

/* RFC 2198 / Chrome's audio red: the parameter "111/111" names the
 * redundant encodings by payload type, like an apt. */
static void
test_mirror_answer_red_renumbered (void)
{
  g_autoptr (BfJingleRtpDescription) caller = chrome_audio ();
  g_autoptr (BfJingleRtpDescription) callee = bf_jingle_rtp_description_new ("audio");
  add_pt (callee, 109, "opus", 48000, 2, "useinbandfec", "1", NULL);
  BfJinglePayloadType *red = add_pt (callee, 120, "red", 48000, 2, NULL);
  bf_jingle_parameters_add (red->parameters, "109/109", NULL);
  g_autoptr (BfJingleRtpDescription) answer = bf_jingle_describe_mirror_answer (caller, callee);
  g_autofree char *ids = pt_ids (answer);
  g_assert_cmpstr (ids, ==, "111 63");
  const BfJinglePayloadType *r = bf_jingle_rtp_find_payload_type (answer, 63);
  const BfJingleParameter *p = g_ptr_array_index (r->parameters, 0);
  g_assert_cmpstr (p->name, ==, "111/111");
}

static void
test_mirror_answer_matching (void)
{
  g_autoptr (BfJingleRtpDescription) caller = chrome_audio ();
  g_autoptr (BfJingleRtpDescription) callee = bf_jingle_rtp_description_new ("audio");
  add_pt (callee, 96, "OPUS", 48000, 2, NULL);            /* names: any case (RFC 4855 §3) */
  add_pt (callee, 97, "telephone-event", 16000, 1, NULL); /* clock rate differs: out */
  add_pt (callee, 98, "PCMU", 8000, 2, NULL);             /* channels differ: out */
  add_pt (callee, 9, "g722", 8000, 1, NULL);
  add_pt (callee, 110, "telephone-event", 48000, 1, NULL);
  g_autoptr (BfJingleRtpDescription) answer = bf_jingle_describe_mirror_answer (caller, callee);
  g_autofree char *ids = pt_ids (answer);
  g_assert_cmpstr (ids, ==, "111 9 110");
  g_assert_cmpstr (bf_jingle_rtp_find_payload_type (answer, 111)->name, ==, "OPUS");   /* the callee's spelling */

  /* Static types without a name (RFC 3551) match by number only. */
  g_autoptr (BfJingleRtpDescription) st_caller = bf_jingle_rtp_description_new ("audio");
  add_pt (st_caller, 0, NULL, 8000, 1, NULL);
  add_pt (st_caller, 8, NULL, 8000, 1, NULL);
  g_autoptr (BfJingleRtpDescription) st_callee = bf_jingle_rtp_description_new ("audio");
  add_pt (st_callee, 8, NULL, 8000, 1, NULL);
  add_pt (st_callee, 3, NULL, 8000, 1, NULL);
  g_autoptr (BfJingleRtpDescription) st_answer
    = bf_jingle_describe_mirror_answer (st_caller, st_callee);
  g_autofree char *st_ids = pt_ids (st_answer);
  g_assert_cmpstr (st_ids, ==, "8");
}

/* Two offered types of one codec (VP9 profiles 0 and 2): the number
 * decides; a codec answered twice takes a second offered number only if
 * there is one. */
static void
test_mirror_answer_same_codec_twice (void)
{
  g_autoptr (BfJingleRtpDescription) caller = chrome_video ();
  g_autoptr (BfJingleRtpDescription) callee = bf_jingle_rtp_description_new ("video");
  add_pt (callee, 100, "VP9", 90000, 0, "profile-id", "2", NULL);
  add_pt (callee, 98, "VP9", 90000, 0, "profile-id", "0", NULL);
  add_pt (callee, 96, "VP8", 90000, 0, NULL);
  add_pt (callee, 35, "VP8", 90000, 0, NULL);   /* no second VP8 offered */
  g_autoptr (BfJingleRtpDescription) answer = bf_jingle_describe_mirror_answer (caller, callee);
  g_autofree char *ids = pt_ids (answer);
  g_assert_cmpstr (ids, ==, "100 98 96");
  g_assert_cmpstr (param (bf_jingle_rtp_find_payload_type (answer, 100)->parameters, "profile-id"), ==, "2");
  g_assert_cmpstr (param (bf_jingle_rtp_find_payload_type (answer, 98)->parameters, "profile-id"), ==, "0");
}

static void
test_mirror_answer_nothing (void)
{
  g_autoptr (BfJingleRtpDescription) caller = chrome_video ();
  g_autoptr (BfJingleRtpDescription) callee = bf_jingle_rtp_description_new ("video");
  add_pt (callee, 102, "H264", 90000, 0, NULL);
  add_pt (callee, 35, "AV1", 90000, 0, NULL);
  add_source (callee, CALLEE_V, "callee", "s t");
  g_autoptr (BfJingleRtpDescription) answer = bf_jingle_describe_mirror_answer (caller, callee);
  g_assert_cmpstr (answer->media, ==, "video");
  g_assert_cmpuint (answer->payload_types->len, ==, 0);
  g_autoptr (BfJingleRtpDescription) empty = bf_jingle_rtp_description_new ("video");
  g_autoptr (BfJingleRtpDescription) answer2 = bf_jingle_describe_mirror_answer (caller, empty);
  g_assert_cmpuint (answer2->payload_types->len, ==, 0);
  g_assert_cmpuint (answer2->hdrexts->len, ==, 0);
  g_assert_cmpuint (answer2->sources->len, ==, 0);
}

/* XEP-0294: the callee's extensions, under the caller's ids; those the
 * caller did not offer are left out; the callee's senders and parameters. */
static void
test_mirror_answer_hdrext (void)
{
  g_autoptr (BfJingleRtpDescription) caller = chrome_video ();
  g_autoptr (BfJingleRtpDescription) callee = callee_video_same ("video");
  g_ptr_array_set_size (callee->hdrexts, 0);
  bf_jingle_rtp_add_hdrext (callee, 1, URI_AST, BF_JINGLE_SENDERS_RESPONDER);
  bf_jingle_rtp_add_hdrext (callee, 7, "urn:example:not-offered", BF_JINGLE_SENDERS_BOTH);
  BfJingleHdrext *t = bf_jingle_rtp_add_hdrext (callee, 2, URI_TWCC, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_parameters_add (t->parameters, "x", "y");
  bf_jingle_rtp_add_hdrext (callee, 3, URI_MID, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (callee, 12, URI_CSRC, BF_JINGLE_SENDERS_BOTH);
  callee->extmap_allow_mixed = TRUE;
  g_autoptr (BfJingleRtpDescription) answer = bf_jingle_describe_mirror_answer (caller, callee);
  g_assert_cmpuint (answer->hdrexts->len, ==, 3);
  static const struct { guint id; const char *uri; BfJingleSenders senders; } want[] = {
    { 2, URI_AST, BF_JINGLE_SENDERS_RESPONDER },
    { 3, URI_TWCC, BF_JINGLE_SENDERS_BOTH },
    { 4, URI_MID, BF_JINGLE_SENDERS_BOTH },
  };
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    {
      const BfJingleHdrext *h = g_ptr_array_index (answer->hdrexts, i);
      g_assert_cmpuint (h->id, ==, want[i].id);
      g_assert_cmpstr (h->uri, ==, want[i].uri);
      g_assert_cmpint (h->senders, ==, want[i].senders);
    }
  const BfJingleHdrext *twcc = g_ptr_array_index (answer->hdrexts, 1);
  g_assert_cmpstr (param (twcc->parameters, "x"), ==, "y");
  g_assert_true (answer->extmap_allow_mixed);
}

/* Session-level feedback, trr-int, bandwidth and reduced-size are the
 * callee's; rtcp-mux is always on; the media is the caller's content's. */
static void
test_mirror_answer_session_level (void)
{
  g_autoptr (BfJingleRtpDescription) caller = chrome_video ();
  caller->rtcp_reduced_size = TRUE;
  g_autoptr (BfJingleRtpDescription) callee = callee_video_same ("VIDEO");
  bf_jingle_rtcp_fb_add (callee->rtcp_fb, "nack", NULL);
  callee->has_trr_int = TRUE;
  callee->trr_int = 200;
  callee->bandwidth_type = g_strdup ("TIAS");
  callee->bandwidth = g_strdup ("1000000");
  callee->rtcp_mux = FALSE;
  callee->rtcp_reduced_size = FALSE;
  g_autoptr (BfJingleRtpDescription) answer = bf_jingle_describe_mirror_answer (caller, callee);
  g_assert_cmpstr (answer->media, ==, "video");
  g_assert_cmpuint (answer->rtcp_fb->len, ==, 1);
  g_assert_true (answer->has_trr_int);
  g_assert_cmpuint (answer->trr_int, ==, 200);
  g_assert_cmpstr (answer->bandwidth_type, ==, "TIAS");
  g_assert_cmpstr (answer->bandwidth, ==, "1000000");
  g_assert_true (answer->rtcp_mux);
  g_assert_false (answer->rtcp_reduced_size);
  g_assert_false (answer->has_encryption);
}

/* The callee's sources and groups are announced, not the caller's. */
static void
test_mirror_answer_sources (void)
{
  g_autoptr (BfJingleRtpDescription) caller = chrome_video ();
  g_autoptr (BfJingleRtpDescription) callee = callee_video_same ("video");
  g_autoptr (BfJingleRtpDescription) answer = bf_jingle_describe_mirror_answer (caller, callee);
  g_assert_cmpuint (answer->sources->len, ==, 2);
  const BfJingleSource *s = g_ptr_array_index (answer->sources, 0);
  g_assert_cmphex (s->ssrc, ==, CALLEE_V);
  g_assert_cmpstr (param (s->parameters, "cname"), ==, "callee");
  s = g_ptr_array_index (answer->sources, 1);
  g_assert_cmphex (s->ssrc, ==, CALLEE_VR);
  g_assert_cmpuint (answer->ssrc_groups->len, ==, 1);
  const BfJingleSsrcGroup *g = g_ptr_array_index (answer->ssrc_groups, 0);
  g_assert_cmpstr (g->semantics, ==, "FID");
  g_assert_cmpuint (g->ssrcs->len, ==, 2);
  g_assert_cmphex (g_array_index (g->ssrcs, guint32, 0), ==, CALLEE_V);
  g_assert_cmphex (g_array_index (g->ssrcs, guint32, 1), ==, CALLEE_VR);
  /* a callee that announces none: none */
  g_ptr_array_set_size (callee->sources, 0);
  g_ptr_array_set_size (callee->ssrc_groups, 0);
  g_autoptr (BfJingleRtpDescription) answer2 = bf_jingle_describe_mirror_answer (caller, callee);
  g_assert_cmpuint (answer2->sources->len, ==, 0);
  g_assert_cmpuint (answer2->ssrc_groups->len, ==, 0);
}

/* --- bf_jingle_describe_rtp_map --- */

static void
test_rtp_map_identity (void)
{
  g_autoptr (BfJingle) sent = jingle_of (chrome_audio (), chrome_video (), NULL);
  g_autoptr (BfJingle) heard = jingle_of (chrome_audio (), chrome_video (), NULL);
  BfRtpMap map;
  memset (&map, 0xA5, sizeof map);
  bf_jingle_describe_rtp_map (sent, heard, &map);
  g_assert_true (map.identity);
  assert_map (&map, NULL, 0, NULL, 0);
  /* what sessions.c passes when a description is missing */
  memset (&map, 0xA5, sizeof map);
  bf_jingle_describe_rtp_map (&(BfJingle) { 0 }, &(BfJingle) { 0 }, &map);
  g_assert_true (map.identity);
  assert_map (&map, NULL, 0, NULL, 0);
  /* no contents at all */
  g_autoptr (BfJingle) none1 = jingle_of (NULL);
  g_autoptr (BfJingle) none2 = jingle_of (NULL);
  memset (&map, 0xA5, sizeof map);
  bf_jingle_describe_rtp_map (none1, none2, &map);
  g_assert_true (map.identity);
  assert_map (&map, NULL, 0, NULL, 0);
}

/* A callee that follows RFC 3264 answers a subset of the offer under the
 * offer's own numbers: nothing is renumbered, so the map is the identity.
 * (The caller's unanswered rtx types must not be paired with the callee's
 * rtx for other originals: here Chrome's rtx 99 (for VP9, not answered)
 * would take the callee's 117 (rtx for red).) */
static void
test_rtp_map_compliant_subset (void)
{
  g_autoptr (BfJingle) sent = jingle_of (chrome_audio (), chrome_video (), NULL);
  g_autoptr (BfJingle) heard = jingle_of (chrome_audio (), callee_video_same ("video"), NULL);
  BfRtpMap map;
  bf_jingle_describe_rtp_map (sent, heard, &map);
  assert_map (&map, NULL, 0, NULL, 0);
  g_assert_true (map.identity);

  /* The same with a callee that answers VP9 profile 2 and not profile 0:
   * Chrome's VP9 rtx 101 must stay 101, not become the callee's 117 (the
   * rtx for red), which the caller's VP9 retransmissions would then be
   * taken for. */
  BfJingleRtpDescription *v = bf_jingle_rtp_description_new ("video");
  add_pt (v, 96, "VP8", 90000, 0, NULL);
  add_rtx (v, 97, "96");
  add_pt (v, 100, "VP9", 90000, 0, "profile-id", "2", NULL);
  add_rtx (v, 101, "100");
  add_pt (v, 116, "red", 90000, 0, NULL);
  add_rtx (v, 117, "116");
  g_autoptr (BfJingle) sent2 = jingle_of (chrome_video (), NULL);
  g_autoptr (BfJingle) heard2 = jingle_of (v, NULL);
  bf_jingle_describe_rtp_map (sent2, heard2, &map);
  for (guint i = 0; i < 128; i++)
    if (map.pt[i] != i)
      g_test_message ("pt %u -> %u", i, map.pt[i]);
  g_assert_cmpuint (map.pt[101], ==, 101);
  g_assert_cmpuint (map.pt[117], ==, 117);
  g_assert_cmpuint (map.pt[96], ==, 96);
  g_assert_cmpuint (map.pt[100], ==, 100);
}

/* Packets from the caller (Chrome's numbers) to a callee that answered
 * with its own, audio and video bundled. */
static void
test_rtp_map_renumbered (void)
{
  BfJingleRtpDescription *callee_a = bf_jingle_rtp_description_new ("audio");
  add_pt (callee_a, 109, "opus", 48000, 2, NULL);
  add_pt (callee_a, 105, "telephone-event", 8000, 1, NULL);
  bf_jingle_rtp_add_hdrext (callee_a, 3, URI_AST, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (callee_a, 5, URI_TWCC, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (callee_a, 1, URI_MID, BF_JINGLE_SENDERS_BOTH);
  BfJingleRtpDescription *callee_v = bf_jingle_rtp_description_new ("video");
  add_pt (callee_v, 100, "VP8", 90000, 0, NULL);
  add_rtx (callee_v, 101, "100");
  add_pt (callee_v, 120, "red", 90000, 0, NULL);
  add_pt (callee_v, 122, "ulpfec", 90000, 0, NULL);
  bf_jingle_rtp_add_hdrext (callee_v, 3, URI_AST, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (callee_v, 5, URI_TWCC, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (callee_v, 1, URI_MID, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (callee_v, 8, URI_ORIENT, BF_JINGLE_SENDERS_BOTH);

  /* the caller's video: VP8, its rtx, red, ulpfec */
  BfJingleRtpDescription *caller_v = bf_jingle_rtp_description_new ("video");
  add_pt (caller_v, 96, "VP8", 90000, 0, NULL);
  add_rtx (caller_v, 97, "96");
  add_pt (caller_v, 116, "red", 90000, 0, NULL);
  add_pt (caller_v, 118, "ulpfec", 90000, 0, NULL);
  bf_jingle_rtp_add_hdrext (caller_v, 14, URI_TOFFSET, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (caller_v, 2, URI_AST, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (caller_v, 13, URI_ORIENT, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (caller_v, 3, URI_TWCC, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (caller_v, 4, URI_MID, BF_JINGLE_SENDERS_BOTH);

  g_autoptr (BfJingle) sent = jingle_of (chrome_audio (), caller_v, NULL);
  g_autoptr (BfJingle) heard = jingle_of (callee_a, callee_v, NULL);
  BfRtpMap map;
  bf_jingle_describe_rtp_map (sent, heard, &map);
  g_assert_false (map.identity);
  static const guint pt[] = { 111, 109,  126, 105,  96, 100,  97, 101,  116, 120,  118, 122 };
  static const guint ext[] = { 2, 3,  3, 5,  4, 1,  13, 8 };
  assert_map (&map, pt, G_N_ELEMENTS (pt) / 2, ext, G_N_ELEMENTS (ext) / 2);
}

/* Contents are paired by name, whatever their order; a content the other
 * side lacks, or one without RTP, adds nothing. */
static void
test_rtp_map_contents (void)
{
  BfJingleRtpDescription *a1 = bf_jingle_rtp_description_new ("audio");
  add_pt (a1, 111, "opus", 48000, 2, NULL);
  bf_jingle_rtp_add_hdrext (a1, 1, URI_LEVEL, BF_JINGLE_SENDERS_BOTH);
  BfJingleRtpDescription *v1 = bf_jingle_rtp_description_new ("video");
  add_pt (v1, 96, "VP8", 90000, 0, NULL);
  BfJingleRtpDescription *x1 = bf_jingle_rtp_description_new ("extra");
  add_pt (x1, 50, "VP8", 90000, 0, NULL);
  g_autoptr (BfJingle) sent = jingle_of (a1, v1, x1, NULL);
  bf_jingle_add_content (sent, BF_JINGLE_CREATOR_INITIATOR, "data");   /* no description */

  BfJingleRtpDescription *v2 = bf_jingle_rtp_description_new ("video");
  add_pt (v2, 98, "VP8", 90000, 0, NULL);
  BfJingleRtpDescription *a2 = bf_jingle_rtp_description_new ("audio");
  add_pt (a2, 110, "opus", 48000, 2, NULL);
  bf_jingle_rtp_add_hdrext (a2, 9, URI_LEVEL, BF_JINGLE_SENDERS_BOTH);
  g_autoptr (BfJingle) heard = jingle_of (v2, a2, NULL);
  bf_jingle_add_content (heard, BF_JINGLE_CREATOR_INITIATOR, "data");

  BfRtpMap map;
  bf_jingle_describe_rtp_map (sent, heard, &map);
  g_assert_false (map.identity);
  static const guint pt[] = { 111, 110,  96, 98 };
  static const guint ext[] = { 1, 9 };
  assert_map (&map, pt, 2, ext, 1);

  /* the names decide, not the media: "audio" on one side is paired with
   * "audio" on the other even when listed second */
  BfJingleContent *c = bf_jingle_find_content (heard, "video");
  g_free (c->name);
  c->name = g_strdup ("camera");
  bf_jingle_describe_rtp_map (sent, heard, &map);
  static const guint pt2[] = { 111, 110 };
  assert_map (&map, pt2, 1, ext, 1);
}

/* Header extension ids: mapped by URI; ids the map cannot hold (above 255)
 * are skipped; an extension-only difference clears the identity flag. */
static void
test_rtp_map_hdrext (void)
{
  BfJingleRtpDescription *s = bf_jingle_rtp_description_new ("video");
  add_pt (s, 96, "VP8", 90000, 0, NULL);
  bf_jingle_rtp_add_hdrext (s, 2, URI_AST, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (s, 300, URI_TWCC, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (s, 4, URI_MID, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (s, 5, URI_RID, BF_JINGLE_SENDERS_BOTH);
  BfJingleRtpDescription *h = bf_jingle_rtp_description_new ("video");
  add_pt (h, 96, "VP8", 90000, 0, NULL);
  bf_jingle_rtp_add_hdrext (h, 2, URI_AST, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (h, 3, URI_TWCC, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (h, 20, URI_MID, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (h, 400, URI_RID, BF_JINGLE_SENDERS_BOTH);
  g_autoptr (BfJingle) sent = jingle_of (s, NULL);
  g_autoptr (BfJingle) heard = jingle_of (h, NULL);
  BfRtpMap map;
  bf_jingle_describe_rtp_map (sent, heard, &map);
  g_assert_false (map.identity);
  static const guint ext[] = { 4, 20 };
  assert_map (&map, NULL, 0, ext, 1);
}

/* The whole path: the map from Chrome's offer to a renumbering callee's
 * answer, applied to one of Chrome's video packets. */
static void
test_rtp_map_apply (void)
{
  BfJingleRtpDescription *callee_v = bf_jingle_rtp_description_new ("video");
  add_pt (callee_v, 100, "VP8", 90000, 0, NULL);
  bf_jingle_rtp_add_hdrext (callee_v, 3, URI_AST, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (callee_v, 5, URI_TWCC, BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_hdrext (callee_v, 1, URI_MID, BF_JINGLE_SENDERS_BOTH);
  g_autoptr (BfJingle) sent = jingle_of (chrome_video (), NULL);
  g_autoptr (BfJingle) heard = jingle_of (callee_v, NULL);
  BfRtpMap map;
  bf_jingle_describe_rtp_map (sent, heard, &map);
  /* VP8 96 with the marker, abs-send-time (2), transport-cc (3), mid (4) */
  guint8 pkt[] = { 0x90, 0x80 | 96, 0x00, 0x01,  0x00, 0x00, 0x0B, 0xB8,  0x22, 0x22, 0x22, 0x22,
                   0xBE, 0xDE, 0x00, 0x03,
                   0x22, 0x01, 0x02, 0x03,  0x31, 0x00, 0x05,  0x40, '1',  0x00, 0x00, 0x00,
                   0x90, 0xE0 };
  const guint8 want[] = { 0x90, 0x80 | 100, 0x00, 0x01,  0x00, 0x00, 0x0B, 0xB8,
                          0x22, 0x22, 0x22, 0x22,
                          0xBE, 0xDE, 0x00, 0x03,
                          0x32, 0x01, 0x02, 0x03,  0x51, 0x00, 0x05,  0x10, '1',  0x00, 0x00, 0x00,
                          0x90, 0xE0 };
  g_assert_true (bf_rtp_map_apply (&map, pkt, sizeof pkt));
  g_assert_cmpmem (pkt, sizeof pkt, want, sizeof want);
}

/* --- bf_jingle_describe_answer_as_offered --- */

/* BF_SESSION_ACCEPT and bf_session_media_copy_content: the caller's media
 * back as offered, none of its sources. */
static void
test_answer_as_offered (void)
{
  g_autoptr (BfJingleRtpDescription) offer = rich_offer (TRUE);
  bf_jingle_rtp_add_source (offer, CALLER_V);
  add_fid (offer, CALLER_V, CALLER_VR);
  offer->has_trr_int = TRUE;
  offer->trr_int = 100;
  g_autoptr (BfJingleRtpDescription) answer = bf_jingle_describe_answer_as_offered (offer);
  g_assert_cmpstr (answer->media, ==, "video");
  g_assert_cmpuint (answer->payload_types->len, ==, offer->payload_types->len);
  for (guint i = 0; i < offer->payload_types->len; i++)
    {
      const BfJinglePayloadType *o = g_ptr_array_index (offer->payload_types, i);
      const BfJinglePayloadType *a = g_ptr_array_index (answer->payload_types, i);
      g_assert_cmpuint (a->id, ==, o->id);
      g_assert_cmpstr (a->name, ==, o->name);
      g_assert_cmpuint (a->clockrate, ==, o->clockrate);
      g_assert_cmpuint (a->channels, ==, o->channels);
      g_assert_cmpuint (a->ptime, ==, o->ptime);
      g_assert_cmpuint (a->maxptime, ==, o->maxptime);
      g_assert_cmpuint (a->parameters->len, ==, o->parameters->len);
      for (guint k = 0; k < o->parameters->len; k++)
        {
          const BfJingleParameter *po = g_ptr_array_index (o->parameters, k);
          const BfJingleParameter *pa = g_ptr_array_index (a->parameters, k);
          g_assert_cmpstr (pa->name, ==, po->name);
          g_assert_cmpstr (pa->value, ==, po->value);
        }
      g_assert_cmpuint (a->rtcp_fb->len, ==, o->rtcp_fb->len);
      for (guint k = 0; k < o->rtcp_fb->len; k++)
        {
          const BfJingleRtcpFb *fo = g_ptr_array_index (o->rtcp_fb, k);
          const BfJingleRtcpFb *fa = g_ptr_array_index (a->rtcp_fb, k);
          g_assert_cmpstr (fa->type, ==, fo->type);
          g_assert_cmpstr (fa->subtype, ==, fo->subtype);
        }
    }
  g_assert_cmpuint (answer->rtcp_fb->len, ==, 1);
  g_assert_cmpuint (answer->hdrexts->len, ==, offer->hdrexts->len);
  for (guint i = 0; i < offer->hdrexts->len; i++)
    {
      const BfJingleHdrext *o = g_ptr_array_index (offer->hdrexts, i);
      const BfJingleHdrext *a = g_ptr_array_index (answer->hdrexts, i);
      g_assert_cmpuint (a->id, ==, o->id);
      g_assert_cmpstr (a->uri, ==, o->uri);
      g_assert_cmpint (a->senders, ==, o->senders);
    }
  g_assert_true (answer->extmap_allow_mixed);
  g_assert_true (answer->rtcp_mux);               /* though the offer had none */
  g_assert_true (answer->rtcp_reduced_size);
  g_assert_false (answer->has_encryption);
  g_assert_cmpuint (answer->crypto->len, ==, 0);
  g_assert_true (answer->has_trr_int);
  g_assert_cmpuint (answer->trr_int, ==, 100);
  g_assert_cmpstr (answer->bandwidth_type, ==, "AS");
  g_assert_cmpstr (answer->bandwidth, ==, "2000");
  /* the caller's sources and groups are its own (the mirrored offer to a
   * callee keeps them) */
  g_assert_cmpuint (answer->sources->len, ==, 0);
  g_assert_cmpuint (answer->ssrc_groups->len, ==, 0);
  g_autoptr (BfJingleRtpDescription) mirror = bf_jingle_describe_mirror_offer (offer);
  g_assert_cmpuint (mirror->sources->len, ==, offer->sources->len);
  g_assert_cmpuint (mirror->ssrc_groups->len, ==, offer->ssrc_groups->len);
}

/* The mixed one- and two-byte header extension form (RFC 8285 §6) is
 * answered only where there are header extensions to send in it. */
static void
test_answer_as_offered_mixed (void)
{
  g_autoptr (BfJingleRtpDescription) offer = bf_jingle_rtp_description_new ("audio");
  bf_jingle_rtp_add_payload_type (offer, 111, "opus", 48000, 2);
  offer->extmap_allow_mixed = TRUE;
  g_autoptr (BfJingleRtpDescription) bare = bf_jingle_describe_answer_as_offered (offer);
  g_assert_false (bare->extmap_allow_mixed);
  g_assert_true (bare->rtcp_mux);
  bf_jingle_rtp_add_hdrext (offer, 1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
                            BF_JINGLE_SENDERS_BOTH);
  g_autoptr (BfJingleRtpDescription) with = bf_jingle_describe_answer_as_offered (offer);
  g_assert_true (with->extmap_allow_mixed);
  g_assert_cmpuint (with->payload_types->len, ==, 1);
}

/* --- bf_jingle_check_supported --- */

#define FINGERPRINT "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:" \
                    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"

/* A content belfry can take: RTP audio with one payload type over ICE-UDP,
 * with a DTLS fingerprint when @fingerprint. */
static BfJingleContent *
add_supported (BfJingle *j, const char *name, gboolean fingerprint)
{
  BfJingleContent *c = bf_jingle_add_content (j, BF_JINGLE_CREATOR_INITIATOR, name);
  BfJingleRtpDescription *rtp = bf_jingle_content_set_rtp (c, "audio");
  add_pt (rtp, 111, "opus", 48000, 2, NULL);
  BfJingleIceTransport *ice = bf_jingle_content_set_ice (c, "ufrag", "pwd-of-22-characters-");
  if (fingerprint)
    bf_jingle_ice_set_fingerprint (ice, "sha-256", BF_JINGLE_SETUP_ACTPASS, FINGERPRINT);
  return c;
}

static void
assert_refused (const BfJingle *j, BfJingleReasonCondition want, const char *want_why)
{
  const char *why = NULL;
  g_assert_cmpint (bf_jingle_check_supported (j, &why), ==, want);
  g_assert_cmpstr (why, ==, want_why);
}

static void
test_check_supported (void)
{
  const char *why = NULL;
  g_autoptr (BfJingle) ok = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, "sid");
  add_supported (ok, "0", TRUE);
  g_assert_cmpint (bf_jingle_check_supported (ok, &why), ==, BF_JINGLE_REASON_SUCCESS);
  /* one fingerprint stands for the session: on a later content is enough */
  g_autoptr (BfJingle) later = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, "sid");
  add_supported (later, "0", FALSE);
  add_supported (later, "1", TRUE);
  g_assert_cmpint (bf_jingle_check_supported (later, &why), ==, BF_JINGLE_REASON_SUCCESS);
}

static void
test_check_supported_refusals (void)
{
  g_autoptr (BfJingle) empty = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, "sid");
  assert_refused (empty, BF_JINGLE_REASON_INCOMPATIBLE_PARAMETERS, "no content");

  /* no description, another application (file transfer), RTP without a
   * payload type: each is an application belfry does not support */
  g_autoptr (BfJingle) none = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, "sid");
  bf_jingle_content_set_ice (bf_jingle_add_content (none, BF_JINGLE_CREATOR_INITIATOR, "0"),
                             "ufrag", "pwd-of-22-characters-");
  assert_refused (none, BF_JINGLE_REASON_UNSUPPORTED_APPLICATIONS,
                  "only RTP audio/video is supported");
  g_autoptr (BfJingle) ft = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, "sid");
  BfJingleContent *c = add_supported (ft, "0", TRUE);
  bf_jingle_rtp_description_free (g_steal_pointer (&c->rtp));
  g_free (c->description_ns);
  c->description_ns = g_strdup ("urn:xmpp:jingle:apps:file-transfer:5");
  c->description_kind = BF_JINGLE_DESCRIPTION_UNSUPPORTED;
  assert_refused (ft, BF_JINGLE_REASON_UNSUPPORTED_APPLICATIONS,
                  "only RTP audio/video is supported");
  g_autoptr (BfJingle) no_pt = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, "sid");
  add_supported (no_pt, "0", TRUE);
  bf_jingle_content_set_rtp (add_supported (no_pt, "1", TRUE), "video");   /* empty */
  assert_refused (no_pt, BF_JINGLE_REASON_UNSUPPORTED_APPLICATIONS,
                  "only RTP audio/video is supported");

  /* no transport, or another one (SOCKS5 bytestreams) */
  g_autoptr (BfJingle) no_transport = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, "sid");
  add_supported (no_transport, "0", TRUE);
  add_pt (bf_jingle_content_set_rtp (bf_jingle_add_content (no_transport,
                                                            BF_JINGLE_CREATOR_INITIATOR, "1"),
                                     "video"),
          96, "VP8", 90000, 0, NULL);
  assert_refused (no_transport, BF_JINGLE_REASON_UNSUPPORTED_TRANSPORTS,
                  "only ICE-UDP is supported");
  g_autoptr (BfJingle) s5b = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, "sid");
  c = add_supported (s5b, "0", TRUE);
  bf_jingle_ice_transport_free (g_steal_pointer (&c->ice));
  g_free (c->transport_ns);
  c->transport_ns = g_strdup ("urn:xmpp:jingle:transports:s5b:1");
  c->transport_kind = BF_JINGLE_TRANSPORT_UNSUPPORTED;
  assert_refused (s5b, BF_JINGLE_REASON_UNSUPPORTED_TRANSPORTS, "only ICE-UDP is supported");

  /* the description is judged before the transport */
  c->description_kind = BF_JINGLE_DESCRIPTION_UNSUPPORTED;
  assert_refused (s5b, BF_JINGLE_REASON_UNSUPPORTED_APPLICATIONS,
                  "only RTP audio/video is supported");

  /* ICE-UDP without any fingerprint: belfry only speaks DTLS-SRTP */
  g_autoptr (BfJingle) plain = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, "sid");
  add_supported (plain, "0", FALSE);
  add_supported (plain, "1", FALSE);
  assert_refused (plain, BF_JINGLE_REASON_SECURITY_ERROR,
                  "DTLS-SRTP over ICE (ufrag, pwd, fingerprint) is required");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* A failing check marks its test "not ok" and the others still run. */
  g_test_set_nonfatal_assertions ();
  g_test_add_func ("/describe/check-supported/ok", test_check_supported);
  g_test_add_func ("/describe/check-supported/refusals", test_check_supported_refusals);
  g_test_add_func ("/describe/mirror-offer/video", test_mirror_offer);
  g_test_add_func ("/describe/mirror-offer/audio", test_mirror_offer_audio);
  g_test_add_func ("/describe/mirror-answer/same-numbers", test_mirror_answer_same_numbers);
  g_test_add_func ("/describe/mirror-answer/renumbered", test_mirror_answer_renumbered);
  g_test_add_func ("/describe/mirror-answer/apt", test_mirror_answer_apt);
  g_test_add_func ("/describe/mirror-answer/not-offered", test_mirror_answer_not_offered);
  g_test_add_func ("/describe/mirror-answer/orphan-rtx", test_mirror_answer_orphan_rtx);
  g_test_add_func ("/describe/mirror-answer/rtx-by-apt", test_mirror_answer_rtx_by_apt);
  g_test_add_func ("/describe/mirror-answer/red-renumbered", test_mirror_answer_red_renumbered);
  g_test_add_func ("/describe/mirror-answer/matching", test_mirror_answer_matching);
  g_test_add_func ("/describe/mirror-answer/same-codec-twice", test_mirror_answer_same_codec_twice);
  g_test_add_func ("/describe/mirror-answer/nothing", test_mirror_answer_nothing);
  g_test_add_func ("/describe/mirror-answer/hdrext", test_mirror_answer_hdrext);
  g_test_add_func ("/describe/mirror-answer/session-level", test_mirror_answer_session_level);
  g_test_add_func ("/describe/mirror-answer/sources", test_mirror_answer_sources);
  g_test_add_func ("/describe/rtp-map/identity", test_rtp_map_identity);
  g_test_add_func ("/describe/rtp-map/compliant-subset", test_rtp_map_compliant_subset);
  g_test_add_func ("/describe/rtp-map/renumbered", test_rtp_map_renumbered);
  g_test_add_func ("/describe/rtp-map/contents", test_rtp_map_contents);
  g_test_add_func ("/describe/rtp-map/hdrext", test_rtp_map_hdrext);
  g_test_add_func ("/describe/rtp-map/apply", test_rtp_map_apply);
  g_test_add_func ("/describe/answer-as-offered/media", test_answer_as_offered);
  g_test_add_func ("/describe/answer-as-offered/mixed", test_answer_as_offered_mixed);
  return g_test_run ();
}
