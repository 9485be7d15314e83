/* Unit tests: BfSessionMedia (include/belfry/session-media.h), the media a
 * module reads from an offer and builds an answer with, and the rules an
 * answer must keep to be accepted (relay/session-media.c). */
#include <string.h>
#include <gio/gio.h>

#include "session-media-private.h"

/* An offer as Chromium sends one: audio (opus 111, PCMU 0) with an
 * extension, video (VP8 96 with feedback, its rtx 97) with a source. */
static BfJingle *
offer (void)
{
  BfJingle *j = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, "s1");
  BfJingleContent *a = bf_jingle_add_content (j, BF_JINGLE_CREATOR_INITIATOR, "0");
  BfJingleRtpDescription *ar = bf_jingle_content_set_rtp (a, "audio");
  BfJinglePayloadType *opus = bf_jingle_rtp_add_payload_type (ar, 111, "opus", 48000, 2);
  bf_jingle_parameters_add (opus->parameters, "useinbandfec", "1");
  bf_jingle_rtp_add_payload_type (ar, 0, "PCMU", 8000, 1);
  bf_jingle_rtp_add_hdrext (ar, 1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
                            BF_JINGLE_SENDERS_BOTH);
  bf_jingle_rtp_add_source (ar, 1111);
  BfJingleContent *v = bf_jingle_add_content (j, BF_JINGLE_CREATOR_INITIATOR, "1");
  BfJingleRtpDescription *vr = bf_jingle_content_set_rtp (v, "video");
  BfJinglePayloadType *vp8 = bf_jingle_rtp_add_payload_type (vr, 96, "VP8", 90000, 1);
  bf_jingle_rtcp_fb_add (vp8->rtcp_fb, "nack", "pli");
  BfJinglePayloadType *rtx = bf_jingle_rtp_add_payload_type (vr, 97, "rtx", 90000, 1);
  bf_jingle_parameters_add (rtx->parameters, "apt", "96");
  bf_jingle_rtp_add_source (vr, 2222);
  return j;
}

static void
test_read_offer (void)
{
  g_autoptr (BfJingle) j = offer ();
  g_autoptr (BfSessionMedia) m = bf_session_media_new_from_jingle (j);
  g_assert_cmpuint (bf_session_media_get_n_contents (m), ==, 2);
  g_assert_cmpstr (bf_session_media_get_content_name (m, 0), ==, "0");
  g_assert_cmpstr (bf_session_media_get_content_kind (m, 1), ==, "video");
  g_assert_cmpint (bf_session_media_get_content_senders (m, 0), ==, BF_SESSION_SENDERS_BOTH);
  g_assert_cmpuint (bf_session_media_get_n_codecs (m, 0), ==, 2);
  BfSessionCodec c;
  g_assert_true (bf_session_media_get_codec (m, 0, 1, &c));
  g_assert_cmpuint (c.id, ==, 0);
  g_assert_cmpstr (c.name, ==, "PCMU");
  g_assert_cmpuint (c.clockrate, ==, 8000);
  g_assert_cmpuint (c.channels, ==, 1);
  g_assert_false (bf_session_media_get_codec (m, 0, 2, &c));
  g_assert_cmpstr (bf_session_media_get_codec_parameter (m, 0, 111, "useinbandfec"), ==, "1");
  g_assert_null (bf_session_media_get_codec_parameter (m, 0, 111, "stereo"));
  g_assert_null (bf_session_media_get_codec_parameter (m, 0, 5, "useinbandfec"));
  g_assert_cmpuint (bf_session_media_find_header_extension (
                      m, 0, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"), ==, 1);
  g_assert_cmpuint (bf_session_media_find_header_extension (m, 1, "urn:x"), ==, 0);
  g_assert_cmpuint (bf_session_media_get_n_sources (m, 1), ==, 1);
  g_assert_cmpuint (bf_session_media_get_source (m, 1, 0), ==, 2222);
}

/* The answer a module builds: PCMU only with a source of its own; video
 * kept (VP8 copied with its feedback) but not sent either way. */
static BfSessionMedia *
good_answer (const BfSessionMedia *from)
{
  BfSessionMedia *a = bf_session_media_new ();
  guint audio = bf_session_media_add_content (a, "0", "audio", BF_SESSION_SENDERS_BOTH);
  BfSessionCodec pcmu = { 0, "pcmu", 8000, 1 };   /* names compare without case */
  g_assert_true (bf_session_media_add_codec (a, audio, &pcmu));
  g_assert_false (bf_session_media_add_codec (a, audio, &pcmu));   /* twice */
  bf_session_media_add_source (a, audio, 0xabcdef, "tone", NULL);
  guint video = bf_session_media_add_content (a, "1", "video", BF_SESSION_SENDERS_NONE);
  g_assert_true (bf_session_media_copy_codec (a, video, from, 1, 96));
  g_assert_false (bf_session_media_copy_codec (a, video, from, 1, 96));
  g_assert_false (bf_session_media_copy_codec (a, video, from, 1, 100));   /* not offered */
  return a;
}

static void
test_good_answer (void)
{
  g_autoptr (BfJingle) j = offer ();
  g_autoptr (BfSessionMedia) m = bf_session_media_new_from_jingle (j);
  g_autoptr (BfSessionMedia) a = good_answer (m);
  g_autoptr (GError) error = NULL;
  g_assert_true (bf_session_media_check_answer (a, j, &error));
  g_assert_no_error (error);
  /* The copy kept the feedback, the source is ours. */
  const BfJingle *aj = bf_session_media_get_jingle (a);
  const BfJingleContent *v = bf_jingle_find_content (aj, "1");
  const BfJinglePayloadType *vp8 = g_ptr_array_index (v->rtp->payload_types, 0);
  g_assert_cmpuint (vp8->rtcp_fb->len, ==, 1);
  g_assert_cmpint (v->senders, ==, BF_JINGLE_SENDERS_NONE);
  g_assert_cmpint (bf_jingle_keyframe_request (v->rtp, vp8), ==, BF_JINGLE_KEYFRAME_PLI);
  g_assert_cmpuint (bf_session_media_get_source (a, 0, 0), ==, 0xabcdef);

  /* Parameters and feedback a module adds to its own codec. */
  bf_session_media_add_codec_parameter (a, 0, 0, "ptime", "20");
  bf_session_media_add_codec_feedback (a, 1, 96, "ccm", "fir");
  g_assert_cmpstr (bf_session_media_get_codec_parameter (a, 0, 0, "ptime"), ==, "20");
  g_assert_cmpuint (vp8->rtcp_fb->len, ==, 2);
  const BfJingleRtcpFb *fir = g_ptr_array_index (vp8->rtcp_fb, 1);
  g_assert_cmpstr (fir->type, ==, "ccm");
  g_assert_cmpstr (fir->subtype, ==, "fir");
  g_assert_true (bf_session_media_check_answer (a, j, &error));
}

static void
assert_refused (BfSessionMedia *a, const BfJingle *j, const char *why)
{
  g_autoptr (GError) error = NULL;
  g_assert_false (bf_session_media_check_answer (a, j, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, why));
}

static void
test_bad_answers (void)
{
  g_autoptr (BfJingle) j = offer ();
  g_autoptr (BfSessionMedia) m = bf_session_media_new_from_jingle (j);
  BfSessionCodec pcmu = { 0, "PCMU", 8000, 1 };

  /* A content left out (XEP-0166: every offered one is answered). */
  g_autoptr (BfSessionMedia) missing = bf_session_media_new ();
  bf_session_media_add_codec (missing, bf_session_media_add_content (missing, "0", "audio", 0),
                              &pcmu);
  assert_refused (missing, j, "no content '1'");

  /* A content that was not offered. */
  g_autoptr (BfSessionMedia) extra = good_answer (m);
  bf_session_media_add_codec (extra, bf_session_media_add_content (extra, "2", "audio", 0),
                              &pcmu);
  assert_refused (extra, j, "'2' was not offered");

  /* Audio answered as video. */
  g_autoptr (BfSessionMedia) kind = bf_session_media_new ();
  bf_session_media_add_codec (kind, bf_session_media_add_content (kind, "0", "video", 0), &pcmu);
  bf_session_media_copy_codec (kind, bf_session_media_add_content (kind, "1", "video", 0), m, 1,
                               96);
  assert_refused (kind, j, "content '0' is audio");

  /* A content with no codec. */
  g_autoptr (BfSessionMedia) none = bf_session_media_new ();
  bf_session_media_add_codec (none, bf_session_media_add_content (none, "0", "audio", 0), &pcmu);
  bf_session_media_add_content (none, "1", "video", BF_SESSION_SENDERS_NONE);
  assert_refused (none, j, "'1' has no codec");

  /* Payload types not offered: another number, another rate, another
   * codec under an offered number (RFC 3264 §6.1). */
  const BfSessionCodec wrong[] = {
    { 8, "PCMA", 8000, 1 }, { 0, "PCMU", 16000, 1 }, { 111, "G722", 8000, 1 },
    { 111, "opus", 48000, 1 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (wrong); i++)
    {
      g_autoptr (BfSessionMedia) a = bf_session_media_new ();
      bf_session_media_add_codec (a, bf_session_media_add_content (a, "0", "audio", 0),
                                  &wrong[i]);
      bf_session_media_copy_codec (a, bf_session_media_add_content (a, "1", "video", 0), m, 1,
                                   96);
      assert_refused (a, j, "is not one offered");
    }

  /* A static payload type offered without a name (XEP-0167 §5) may be
   * answered as it was offered; under a name it is another encoding. */
  g_autoptr (BfJingle) bare = offer ();
  BfJingleContent *ba = bf_jingle_find_content (bare, "0");
  bf_jingle_rtp_add_payload_type (ba->rtp, 8, NULL, 8000, 1);
  g_autoptr (BfSessionMedia) bm = bf_session_media_new_from_jingle (bare);
  g_autoptr (BfSessionMedia) nameless = good_answer (bm);
  g_assert_true (bf_session_media_copy_codec (nameless, 0, bm, 0, 8));
  g_autoptr (GError) bare_error = NULL;
  g_assert_true (bf_session_media_check_answer (nameless, bare, &bare_error));
  g_assert_no_error (bare_error);
  g_autoptr (BfSessionMedia) named = good_answer (bm);
  BfSessionCodec pcma = { 8, "PCMA", 8000, 1 };
  bf_session_media_add_codec (named, 0, &pcma);
  assert_refused (named, bare, "payload type 8");

  /* A header extension the offer did not have, or under another id. */
  g_autoptr (BfSessionMedia) ext = good_answer (m);
  bf_session_media_add_header_extension (ext, 0, 2,
                                         "urn:ietf:params:rtp-hdrext:ssrc-audio-level");
  assert_refused (ext, j, "header extension 2");
  g_autoptr (BfSessionMedia) ext_ok = good_answer (m);
  bf_session_media_add_header_extension (ext_ok, 0, 1,
                                         "urn:ietf:params:rtp-hdrext:ssrc-audio-level");
  g_autoptr (GError) error = NULL;
  g_assert_true (bf_session_media_check_answer (ext_ok, j, &error));
}

static void
assert_offer_refused (const BfSessionMedia *m, guint max, const char *why)
{
  g_autoptr (GError) error = NULL;
  g_assert_false (bf_session_media_check_offer (m, max, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  if (strstr (error->message, why) == NULL)
    g_error ("'%s' does not say '%s'", error->message, why);
}

/* An offer a module builds (bf_session_place_offer, bf_session_add_content):
 * audio or video contents with named codecs, distinct names, within the
 * content limit; its sources kept as built. */
static void
test_offers (void)
{
  BfSessionCodec opus = { 111, "opus", 48000, 2 }, pcmu = { 0, NULL, 8000, 1 };
  BfSessionCodec nameless = { 100, NULL, 90000, 1 };
  g_autoptr (GError) error = NULL;
  g_autoptr (BfSessionMedia) good = bf_session_media_new ();
  guint a = bf_session_media_add_content (good, "audio", "audio", BF_SESSION_SENDERS_INITIATOR);
  bf_session_media_add_codec (good, a, &opus);
  bf_session_media_add_codec (good, a, &pcmu);   /* static: no name needed */
  bf_session_media_add_source (good, a, 4242, "me", NULL);
  g_assert_true (bf_session_media_check_offer (good, 8, &error));
  g_assert_no_error (error);
  g_assert_true (bf_session_media_check_content (good, a, &error));
  /* Read back as the core keeps it: sources included. */
  g_autoptr (BfSessionMedia) back = bf_session_media_new_from_jingle (
    bf_session_media_get_jingle (good));
  g_assert_cmpuint (bf_session_media_get_n_sources (back, 0), ==, 1);
  g_assert_cmpuint (bf_session_media_get_source (back, 0, 0), ==, 4242);
  g_assert_cmpint (bf_session_media_get_content_senders (back, 0), ==,
                   BF_SESSION_SENDERS_INITIATOR);

  g_autoptr (BfSessionMedia) empty = bf_session_media_new ();
  assert_offer_refused (empty, 8, "1 to 8 contents, not 0");
  assert_offer_refused (good, 0, "not 1");
  g_autoptr (BfSessionMedia) codecless = bf_session_media_new ();
  bf_session_media_add_content (codecless, "a", "audio", 0);
  assert_offer_refused (codecless, 8, "'a' has no codec");
  g_autoptr (BfSessionMedia) text = bf_session_media_new ();
  bf_session_media_add_codec (text, bf_session_media_add_content (text, "t", "text", 0), &opus);
  assert_offer_refused (text, 8, "neither audio nor video");
  g_autoptr (BfSessionMedia) unnamed = bf_session_media_new ();
  bf_session_media_add_codec (unnamed, bf_session_media_add_content (unnamed, "v", "video", 0),
                              &nameless);
  assert_offer_refused (unnamed, 8, "payload type 100");
  g_autoptr (BfSessionMedia) twice = bf_session_media_new ();
  bf_session_media_add_codec (twice, bf_session_media_add_content (twice, "x", "audio", 0), &opus);
  bf_session_media_add_codec (twice, bf_session_media_add_content (twice, "x", "video", 0),
                              &nameless);
  assert_offer_refused (twice, 8, "dynamic");   /* the first error found */
  g_autoptr (BfSessionMedia) dup = bf_session_media_new ();
  bf_session_media_add_codec (dup, bf_session_media_add_content (dup, "x", "audio", 0), &opus);
  bf_session_media_add_codec (dup, bf_session_media_add_content (dup, "x", "audio", 0), &opus);
  assert_offer_refused (dup, 8, "two contents are called 'x'");
  g_autoptr (BfSessionMedia) noname = bf_session_media_new ();
  bf_session_media_add_codec (noname, bf_session_media_add_content (noname, "", "audio", 0),
                              &opus);
  assert_offer_refused (noname, 8, "no usable name");
  g_assert_false (bf_session_media_check_content (good, 1, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

/* The description an answer becomes: the module's codecs and sources, the
 * peer's reduced-size RTCP and mixed extension forms. */
static void
test_answer_rtp (void)
{
  g_autoptr (BfJingle) j = offer ();
  BfJingleContent *oc = bf_jingle_find_content (j, "0");
  oc->rtp->rtcp_reduced_size = TRUE;
  oc->rtp->extmap_allow_mixed = TRUE;
  g_autoptr (BfSessionMedia) m = bf_session_media_new_from_jingle (j);
  g_autoptr (BfSessionMedia) a = bf_session_media_new ();
  guint c = bf_session_media_add_content (a, "0", "audio", 0);
  bf_session_media_copy_codec (a, c, m, 0, 0);
  bf_session_media_add_source (a, c, 77, "cn", NULL);
  const BfJingleContent *ac = g_ptr_array_index (bf_session_media_get_jingle (a)->contents, 0);
  g_autoptr (BfJingleRtpDescription) rtp = bf_session_media_answer_rtp (oc->rtp, ac->rtp);
  g_assert_true (rtp->rtcp_mux);
  g_assert_true (rtp->rtcp_reduced_size);
  g_assert_false (rtp->extmap_allow_mixed);   /* no extension in the answer */
  g_assert_cmpuint (rtp->payload_types->len, ==, 1);
  g_assert_cmpuint (rtp->sources->len, ==, 1);
  bf_session_media_add_header_extension (a, c, 1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level");
  g_autoptr (BfJingleRtpDescription) rtp2 = bf_session_media_answer_rtp (oc->rtp, ac->rtp);
  g_assert_true (rtp2->extmap_allow_mixed);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/session-media/read-offer", test_read_offer);
  g_test_add_func ("/session-media/good-answer", test_good_answer);
  g_test_add_func ("/session-media/bad-answers", test_bad_answers);
  g_test_add_func ("/session-media/offers", test_offers);
  g_test_add_func ("/session-media/answer-rtp", test_answer_rtp);
  return g_test_run ();
}
