/* libFuzzer target: the conference mixer's Opus TOC/VAD/LBRR parsing
 * (modules/conference/opus-packet.c) and its jitter buffer and mixing
 * (cf_mixer_push, cf_mixer_tick) fed arbitrary payloads.
 *
 * Checks:
 *   - cf_opus_packet_parse on the whole input never reads outside it, and
 *     what it accepts is consistent: the first frame lies inside the
 *     packet, 1..48 frames of 120..2880 samples, at most 120 ms, no frame
 *     longer than 1275 bytes;
 *   - the input is then a script of operations on a mixer of up to four
 *     participants: push (id, seq, timestamp, level, voice, payload of the
 *     next n bytes), tick, skipped ticks, mute/unmute, listener loss,
 *     remove and re-add;
 *     nothing crashes, leaks or trips a sanitizer, the stats stay
 *     consistent and every output payload is a parseable Opus packet. */
#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "mixer.h"
#include "opus-packet.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define MAX_TICKS 12    /* encodes are the slow part: keep an input fast */

static void
check_parse (const uint8_t *data, size_t size)
{
  CfOpusInfo info;
  if (!cf_opus_packet_parse (data, size, &info))
    return;
  if (info.first_offset > size || info.first_len > size - info.first_offset)
    __builtin_trap ();
  if (info.frames < 1 || info.frames > 48 || info.samples > CF_OPUS_MAX_SAMPLES
      || info.samples != info.frames * info.frame_samples
      || info.frame_samples < 120 || info.frame_samples > 2880
      || info.first_len > CF_OPUS_MAX_FRAME_BYTES)
    __builtin_trap ();
  if (info.vad < -1 || info.vad > 1 || info.lbrr < -1 || info.lbrr > 1)
    __builtin_trap ();
}

static void
on_out (guint id, const guint8 *payload, gsize len, gpointer user_data)
{
  CfOpusInfo info;
  if (id >= 8 || len == 0 || !cf_opus_packet_parse (payload, len, &info) || info.samples != CF_MIXER_FRAME)
    __builtin_trap ();
  (*(guint *) user_data)++;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  check_parse (data, size);

  CfMixerConfig config;
  cf_mixer_config_init (&config);
  config.jitter_ms = 20;
  config.max_talkers = 2;
  config.complexity = 0;
  CfMixer *mixer = cf_mixer_new (&config);
  guint ids[4];
  gboolean present[4];
  for (guint i = 0; i < 4; i++)
    {
      ids[i] = cf_mixer_add (mixer);
      present[i] = TRUE;
    }
  gsize pos = 0;
  guint ticks = 0, outs = 0;
  gint64 now = 0;
  while (pos < size)
    {
      guint8 op = data[pos++];
      guint who = (op >> 3) & 3;
      switch (op & 7)
        {
        case 0: case 1: case 2: case 3:
          {
            /* push: seq16 ts32 level8 len8 payload */
            if (size - pos < 8)
              goto done;
            guint16 seq = (guint16) (data[pos] << 8 | data[pos + 1]);
            guint32 ts = (guint32) data[pos + 2] << 24 | (guint32) data[pos + 3] << 16
                         | (guint32) data[pos + 4] << 8 | data[pos + 5];
            gint level = data[pos + 6] == 0xff ? -1 : data[pos + 6] & 0x7f;
            gboolean voice = (data[pos + 6] & 0x80) != 0;
            gsize len = data[pos + 7];
            if (op & 1)
              len *= 8;      /* longer payloads too */
            pos += 8;
            len = MIN (len, size - pos);
            /* An exact-size copy, so a read past the payload is caught. */
            guint8 *payload = len ? g_memdup2 (data + pos, len) : g_malloc (1);
            cf_mixer_push (mixer, ids[who], seq, ts, payload, len, level, voice, now);
            g_free (payload);
            pos += len;
            break;
          }
        case 4:
          if (ticks++ >= MAX_TICKS)
            goto done;
          now += 20000;
          cf_mixer_tick (mixer, now, on_out, &outs);
          break;
        case 5:
          cf_mixer_set_muted (mixer, ids[who], (op & 0x20) != 0);
          break;
        case 6:
          if (op & 0x80)
            cf_mixer_skip (mixer, (op >> 3) & 15);
          else
            cf_mixer_set_listener_loss (mixer, ids[who], op >> 3);
          break;
        default:
          if (present[who])
            cf_mixer_remove (mixer, ids[who]);
          else
            ids[who] = cf_mixer_add (mixer);
          present[who] = !present[who];
          break;
        }
    }
done:;
  guint talkers[CF_MIXER_MAX_TALKERS];
  if (cf_mixer_get_talkers (mixer, talkers, CF_MIXER_MAX_TALKERS) > config.max_talkers)
    __builtin_trap ();
  CfMixerStats st;
  cf_mixer_get_stats (mixer, &st);
  if (st.frames_out != outs)
    __builtin_trap ();
  cf_mixer_free (mixer);
  return 0;
}
