/* Log output (log.h). */
#include "build-config.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

static const char *
level_name (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR) return "FATAL";
  if (level & G_LOG_LEVEL_CRITICAL) return "CRITICAL";
  if (level & G_LOG_LEVEL_WARNING) return "WARNING";
  if (level & G_LOG_LEVEL_MESSAGE) return "NOTICE";
  if (level & G_LOG_LEVEL_INFO) return "INFO";
  return "DEBUG";
}

/* Read by every thread's log call; changed by a reload (main thread). */
static gint debug_on;

void
bf_log_set_debug (gboolean debug)
{
  g_atomic_int_set (&debug_on, debug ? 1 : 0);
}

gboolean
bf_log_get_debug (void)
{
  return g_atomic_int_get (&debug_on) != 0;
}

static GLogWriterOutput
writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  gboolean verbose = g_atomic_int_get (&debug_on);
  const char *domain = NULL, *message = NULL;
  for (gsize i = 0; i < n_fields; i++)
    {
      if (strcmp (fields[i].key, "GLIB_DOMAIN") == 0)
        domain = fields[i].value;
      else if (strcmp (fields[i].key, "MESSAGE") == 0)
        message = fields[i].value;
    }
  /* --verbose shows our own debug records, not those of every library. */
  if ((level & G_LOG_LEVEL_DEBUG)
      && (!verbose || domain == NULL || !g_str_has_prefix (domain, "belfry")))
    return G_LOG_WRITER_HANDLED;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *stamp = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S");
  /* One fprintf per record keeps lines whole when stderr is shared. */
  fprintf (stderr, "%s.%03dZ %-8s %s: %s\n", stamp,
           g_date_time_get_microsecond (now) / 1000, level_name (level),
           domain ? domain : "belfry", message ? message : "");
  fflush (stderr);
  return G_LOG_WRITER_HANDLED;
}

void
bf_log_init (gboolean verbose)
{
  bf_log_set_debug (verbose);
  g_log_set_writer_func (writer, NULL, NULL);
}
