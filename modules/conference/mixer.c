/* The conference audio mixer (mixer.h): stub with the agreed shape; the
 * implementation follows. */
#include "mixer.h"

#include <opus.h>

struct _CfMixer {
  CfMixerConfig config;
  GArray *ids;   /* gboolean in use, by id */
  CfMixerStats stats;
};

void
cf_mixer_config_init (CfMixerConfig *config)
{
  config->max_talkers = 3;
  config->jitter_ms = 40;
  config->hangover_ms = 300;
  config->complexity = 5;
  config->bitrate = 32000;
}

CfMixer *
cf_mixer_new (const CfMixerConfig *config)
{
  CfMixer *mixer = g_new0 (CfMixer, 1);
  if (config)
    mixer->config = *config;
  else
    cf_mixer_config_init (&mixer->config);
  mixer->ids = g_array_new (FALSE, TRUE, sizeof (gboolean));
  return mixer;
}

void
cf_mixer_free (CfMixer *mixer)
{
  if (!mixer)
    return;
  g_array_unref (mixer->ids);
  g_free (mixer);
}

guint
cf_mixer_add (CfMixer *mixer)
{
  for (guint i = 0; i < mixer->ids->len; i++)
    if (!g_array_index (mixer->ids, gboolean, i))
      {
        g_array_index (mixer->ids, gboolean, i) = TRUE;
        return i;
      }
  gboolean t = TRUE;
  g_array_append_val (mixer->ids, t);
  return mixer->ids->len - 1;
}

void
cf_mixer_remove (CfMixer *mixer, guint id)
{
  if (id < mixer->ids->len)
    g_array_index (mixer->ids, gboolean, id) = FALSE;
}

void cf_mixer_set_muted (CfMixer *mixer, guint id, gboolean muted) { }
void cf_mixer_set_listener_loss (CfMixer *mixer, guint id, guint percent) { }

void
cf_mixer_push (CfMixer *mixer, guint id, guint16 seq, guint32 timestamp,
               const guint8 *payload, gsize len, gint audio_level, gboolean voice, gint64 now_us)
{
  mixer->stats.pushed++;
}

void
cf_mixer_tick (CfMixer *mixer, gint64 now_us, CfMixerOutputFunc out, gpointer user_data)
{
}

guint
cf_mixer_get_talkers (CfMixer *mixer, guint *ids, guint max)
{
  return 0;
}

void
cf_mixer_get_stats (CfMixer *mixer, CfMixerStats *stats)
{
  *stats = mixer->stats;
}
