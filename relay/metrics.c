#define G_LOG_DOMAIN "belfry"
/* The metrics registry and its text rendering (metrics.h), and the module
 * API's metrics (include/belfry/metrics.h).  Values are 64-bit atomics
 * (GCC/Clang __atomic builtins: GLib has no 64-bit g_atomic); the lock
 * guards only the registry's structure (families, series lists). */
#include "metrics.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

struct _BfMetric {
  BfMetricFamily *family;
  char **label_values;          /* as many as the family's labels */
  gint64 value;                 /* atomic: counter, gauge; histogram: count */
  guint64 *buckets;             /* histogram: atomic, per bucket (not cumulative),
                                 * n_bounds + 1 (the last is +Inf) */
  guint64 sum_bits;             /* histogram: atomic, a double's bits */
};

struct _BfMetricFamily {
  BfMetrics *owner;
  BfMetricType type;
  char *name;
  char *help;
  char **label_names;           /* never NULL */
  guint n_labels;
  double *bounds;
  guint n_bounds;
  guint64 scale;                /* 0: integers; else rendered value / scale */
  GPtrArray *series;            /* BfMetric*, creation order */
  GHashTable *by_key;           /* joined label values -> BfMetric* */
  gboolean warned_full;
};

typedef struct {
  guint id;
  BfMetricsCollectFunc func;
  gpointer data;
} Collector;

struct _BfMetrics {
  GMutex lock;
  GPtrArray *families;          /* BfMetricFamily*, registration order */
  GHashTable *by_name;          /* name -> BfMetricFamily* */
  GArray *collectors;           /* Collector; main thread only */
  guint next_collector;
  BfMetric sink;                /* over BF_METRICS_MAX_SERIES: counted, never shown */
};

static void
metric_free (BfMetric *m)
{
  g_strfreev (m->label_values);
  g_free (m->buckets);
  g_free (m);
}

static void
family_free (BfMetricFamily *f)
{
  g_ptr_array_unref (f->series);
  g_hash_table_unref (f->by_key);
  g_free (f->name);
  g_free (f->help);
  g_strfreev (f->label_names);
  g_free (f->bounds);
  g_free (f);
}

BfMetrics *
bf_metrics_new (void)
{
  BfMetrics *r = g_new0 (BfMetrics, 1);
  g_mutex_init (&r->lock);
  r->families = g_ptr_array_new_with_free_func ((GDestroyNotify) family_free);
  r->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  r->collectors = g_array_new (FALSE, FALSE, sizeof (Collector));
  r->next_collector = 1;
  return r;
}

void
bf_metrics_free (BfMetrics *r)
{
  if (r == NULL)
    return;
  g_hash_table_unref (r->by_name);
  g_ptr_array_unref (r->families);
  g_array_unref (r->collectors);
  g_free (r->sink.buckets);
  g_mutex_clear (&r->lock);
  g_free (r);
}

BfMetrics *
bf_metrics_get_default (void)
{
  static BfMetrics *def;
  if (g_once_init_enter (&def))
    g_once_init_leave (&def, bf_metrics_new ());
  return def;
}

/* --- names --- */

static gboolean
valid_name (const char *name, gboolean colon_ok)
{
  if (name == NULL || *name == '\0' || g_ascii_isdigit (*name))
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && !(colon_ok && *p == ':'))
      return FALSE;
  return TRUE;
}

static gboolean
valid_labels (const char *const *names, BfMetricType type)
{
  for (guint i = 0; names && names[i]; i++)
    {
      if (!valid_name (names[i], FALSE) || g_str_has_prefix (names[i], "__"))
        return FALSE;
      if (type == BF_METRIC_HISTOGRAM && strcmp (names[i], "le") == 0)
        return FALSE;
      for (guint j = 0; j < i; j++)
        if (strcmp (names[i], names[j]) == 0)
          return FALSE;
    }
  return TRUE;
}

static gboolean
same_labels (char **a, const char *const *b)
{
  guint nb = b ? g_strv_length ((char **) b) : 0;
  if (g_strv_length (a) != nb)
    return FALSE;
  for (guint i = 0; i < nb; i++)
    if (strcmp (a[i], b[i]) != 0)
      return FALSE;
  return TRUE;
}

/* --- registration --- */

static BfMetric *series_new_locked (BfMetricFamily *f, const char *const *values, const char *key);

static BfMetricFamily *
add_family (BfMetrics *r, BfMetricType type, const char *name, const char *help,
            const char *const *label_names, const double *bounds, guint n_bounds)
{
  g_return_val_if_fail (r != NULL && help != NULL, NULL);
  if (!valid_name (name, TRUE) || !valid_labels (label_names, type)
      || (type == BF_METRIC_COUNTER && !g_str_has_suffix (name, "_total")))
    {
      g_critical ("metric '%s': malformed name or labels", name ? name : "(null)");
      return NULL;
    }
  for (guint i = 1; i < n_bounds; i++)
    g_return_val_if_fail (bounds[i] > bounds[i - 1], NULL);

  g_mutex_lock (&r->lock);
  BfMetricFamily *f = g_hash_table_lookup (r->by_name, name);
  if (f != NULL)
    {
      gboolean same = f->type == type && same_labels (f->label_names, label_names)
                      && f->n_bounds == n_bounds
                      && (n_bounds == 0 || memcmp (f->bounds, bounds, n_bounds * sizeof (double)) == 0);
      g_mutex_unlock (&r->lock);
      if (!same)
        g_critical ("metric '%s' registered twice, differently", name);
      return same ? f : NULL;
    }
  f = g_new0 (BfMetricFamily, 1);
  f->owner = r;
  f->type = type;
  f->name = g_strdup (name);
  /* HELP is one line: a newline would end it (the renderer escapes too). */
  f->help = g_strdup (help);
  f->label_names = label_names ? g_strdupv ((char **) label_names) : g_new0 (char *, 1);
  f->n_labels = g_strv_length (f->label_names);
  if (n_bounds)
    f->bounds = g_memdup2 (bounds, n_bounds * sizeof (double));
  f->n_bounds = n_bounds;
  f->series = g_ptr_array_new_with_free_func ((GDestroyNotify) metric_free);
  f->by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_ptr_array_add (r->families, f);
  g_hash_table_insert (r->by_name, f->name, f);
  if (f->n_labels == 0)
    series_new_locked (f, NULL, "");
  g_mutex_unlock (&r->lock);
  return f;
}

BfMetricFamily *
bf_metrics_add_family (BfMetrics *r, BfMetricType type, const char *name, const char *help,
                       const char *const *label_names)
{
  g_return_val_if_fail (type != BF_METRIC_HISTOGRAM, NULL);
  return add_family (r, type, name, help, label_names, NULL, 0);
}

BfMetricFamily *
bf_metrics_add_histogram (BfMetrics *r, const char *name, const char *help,
                          const char *const *label_names, const double *bounds, guint n_bounds)
{
  g_return_val_if_fail (n_bounds > 0 && bounds != NULL, NULL);
  return add_family (r, BF_METRIC_HISTOGRAM, name, help, label_names, bounds, n_bounds);
}

void
bf_metric_family_set_scale (BfMetricFamily *f, guint64 units_per_one)
{
  if (f != NULL)
    f->scale = units_per_one;
}

/* --- series --- */

static BfMetric *
series_new_locked (BfMetricFamily *f, const char *const *values, const char *key)
{
  BfMetric *m = g_new0 (BfMetric, 1);
  m->family = f;
  m->label_values = g_new0 (char *, f->n_labels + 1);
  for (guint i = 0; i < f->n_labels; i++)
    m->label_values[i] = g_utf8_make_valid (values[i], -1);
  if (f->type == BF_METRIC_HISTOGRAM)
    m->buckets = g_new0 (guint64, f->n_bounds + 1);
  g_ptr_array_add (f->series, m);
  g_hash_table_insert (f->by_key, g_strdup (key), m);
  return m;
}

BfMetric *
bf_metric_family_getv (BfMetricFamily *f, const char *const *values)
{
  if (f == NULL)
    return NULL;
  for (guint i = 0; i < f->n_labels; i++)
    g_return_val_if_fail (values != NULL && values[i] != NULL, NULL);
  /* Label values joined by a byte no value of ours contains. */
  g_autoptr (GString) key = g_string_new (NULL);
  for (guint i = 0; i < f->n_labels; i++)
    {
      if (i)
        g_string_append_c (key, '\x1f');
      g_string_append (key, values[i]);
    }
  BfMetrics *r = f->owner;
  g_mutex_lock (&r->lock);
  BfMetric *m = g_hash_table_lookup (f->by_key, key->str);
  if (m == NULL && f->series->len >= BF_METRICS_MAX_SERIES)
    {
      if (!f->warned_full)
        g_warning ("metric %s: over %u series; further ones are not shown", f->name,
                   BF_METRICS_MAX_SERIES);
      f->warned_full = TRUE;
      m = &r->sink;
    }
  else if (m == NULL)
    m = series_new_locked (f, values, key->str);
  g_mutex_unlock (&r->lock);
  return m;
}

BfMetric *
bf_metric_family_get (BfMetricFamily *f, ...)
{
  if (f == NULL)
    return NULL;
  const char *values[16] = { NULL };
  g_return_val_if_fail (f->n_labels < G_N_ELEMENTS (values), NULL);
  va_list ap;
  va_start (ap, f);
  for (guint i = 0; i < f->n_labels; i++)
    values[i] = va_arg (ap, const char *);
  va_end (ap);
  return bf_metric_family_getv (f, values);
}

void
bf_metric_add (BfMetric *m, guint64 n)
{
  if (m != NULL)
    __atomic_add_fetch (&m->value, (gint64) n, __ATOMIC_RELAXED);
}

void
bf_metric_gauge_add (BfMetric *m, gint64 delta)
{
  if (m != NULL)
    __atomic_add_fetch (&m->value, delta, __ATOMIC_RELAXED);
}

void
bf_metric_set (BfMetric *m, gint64 value)
{
  if (m != NULL)
    __atomic_store_n (&m->value, value, __ATOMIC_RELAXED);
}

gint64
bf_metric_get_value (BfMetric *m)
{
  return m ? __atomic_load_n (&m->value, __ATOMIC_RELAXED) : 0;
}

void
bf_metric_observe (BfMetric *m, double value)
{
  if (m == NULL || m->buckets == NULL || isnan (value))
    return;
  BfMetricFamily *f = m->family;
  guint i = 0;
  while (i < f->n_bounds && value > f->bounds[i])
    i++;
  __atomic_add_fetch (&m->buckets[i], 1, __ATOMIC_RELAXED);
  guint64 old = __atomic_load_n (&m->sum_bits, __ATOMIC_RELAXED), new;
  do
    {
      double sum;
      memcpy (&sum, &old, sizeof sum);
      sum += value;
      memcpy (&new, &sum, sizeof new);
    }
  while (!__atomic_compare_exchange_n (&m->sum_bits, &old, new, TRUE, __ATOMIC_RELAXED,
                                       __ATOMIC_RELAXED));
  /* The count last: a scrape may see a bucket ahead of it, never behind. */
  __atomic_add_fetch (&m->value, 1, __ATOMIC_RELAXED);
}

/* --- collectors --- */

guint
bf_metrics_add_collector (BfMetrics *r, BfMetricsCollectFunc func, gpointer data)
{
  Collector c = { r->next_collector++, func, data };
  g_array_append_val (r->collectors, c);
  return c.id;
}

void
bf_metrics_remove_collector (BfMetrics *r, guint id)
{
  for (guint i = 0; i < r->collectors->len; i++)
    if (g_array_index (r->collectors, Collector, i).id == id)
      {
        g_array_remove_index (r->collectors, i);
        return;
      }
}

/* --- rendering --- */

/* Label values: backslash, double quote and newline escaped. */
static void
append_label_value (GString *out, const char *v)
{
  for (const char *p = v; *p; p++)
    switch (*p)
      {
      case '\\': g_string_append (out, "\\\\"); break;
      case '"': g_string_append (out, "\\\""); break;
      case '\n': g_string_append (out, "\\n"); break;
      default: g_string_append_c (out, *p); break;
      }
}

/* HELP text: backslash and newline escaped. */
static void
append_help (GString *out, const char *v)
{
  for (const char *p = v; *p; p++)
    switch (*p)
      {
      case '\\': g_string_append (out, "\\\\"); break;
      case '\n': g_string_append (out, "\\n"); break;
      default: g_string_append_c (out, *p); break;
      }
}

/* Locale-independent, and the shortest form that reads back as the same
 * double ("0.1", not "0.10000000000000001"). */
static void
format_double (char buf[G_ASCII_DTOSTR_BUF_SIZE], double v)
{
  if (isinf (v))
    {
      g_strlcpy (buf, v > 0 ? "+Inf" : "-Inf", G_ASCII_DTOSTR_BUF_SIZE);
      return;
    }
  for (int digits = 1; digits <= 17; digits++)
    {
      char fmt[8];
      g_snprintf (fmt, sizeof fmt, "%%.%dg", digits);
      g_ascii_formatd (buf, G_ASCII_DTOSTR_BUF_SIZE, fmt, v);
      if (g_ascii_strtod (buf, NULL) == v)
        return;
    }
}

static void
append_double (GString *out, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  format_double (buf, v);
  g_string_append (out, buf);
}

/* name{a="x",b="y"[,le="..."]} */
static void
append_series_name (GString *out, const BfMetric *m, const char *suffix, const char *le)
{
  const BfMetricFamily *f = m->family;
  g_string_append (out, f->name);
  g_string_append (out, suffix);
  if (f->n_labels == 0 && le == NULL)
    return;
  g_string_append_c (out, '{');
  for (guint i = 0; i < f->n_labels; i++)
    {
      g_string_append_printf (out, "%s%s=\"", i ? "," : "", f->label_names[i]);
      append_label_value (out, m->label_values[i]);
      g_string_append_c (out, '"');
    }
  if (le)
    g_string_append_printf (out, "%sle=\"%s\"", f->n_labels ? "," : "", le);
  g_string_append_c (out, '}');
}

static void
render_series (GString *out, const BfMetric *m)
{
  const BfMetricFamily *f = m->family;
  if (f->type != BF_METRIC_HISTOGRAM)
    {
      gint64 v = __atomic_load_n (&m->value, __ATOMIC_RELAXED);
      append_series_name (out, m, "", NULL);
      g_string_append_c (out, ' ');
      if (f->scale)
        append_double (out, (double) v / (double) f->scale);
      else
        g_string_append_printf (out, "%" G_GINT64_FORMAT, v);
      g_string_append_c (out, '\n');
      return;
    }
  guint64 cumulative = 0;
  for (guint i = 0; i <= f->n_bounds; i++)
    {
      cumulative += __atomic_load_n (&m->buckets[i], __ATOMIC_RELAXED);
      char le[G_ASCII_DTOSTR_BUF_SIZE];
      format_double (le, i < f->n_bounds ? f->bounds[i] : INFINITY);
      append_series_name (out, m, "_bucket", le);
      g_string_append_printf (out, " %" G_GUINT64_FORMAT "\n", cumulative);
    }
  guint64 bits = __atomic_load_n (&m->sum_bits, __ATOMIC_RELAXED);
  double sum;
  memcpy (&sum, &bits, sizeof sum);
  append_series_name (out, m, "_sum", NULL);
  g_string_append_c (out, ' ');
  append_double (out, sum);
  g_string_append_c (out, '\n');
  /* The +Inf bucket is the count by definition; read separately, a count
   * below it would look like a broken histogram. */
  append_series_name (out, m, "_count", NULL);
  g_string_append_printf (out, " %" G_GUINT64_FORMAT "\n", cumulative);
}

static const char *const type_names[] = { "counter", "gauge", "histogram" };

char *
bf_metrics_render (BfMetrics *r)
{
  for (guint i = 0; i < r->collectors->len; i++)
    {
      Collector *c = &g_array_index (r->collectors, Collector, i);
      c->func (c->data);
    }
  GString *out = g_string_sized_new (4096);
  g_mutex_lock (&r->lock);
  for (guint i = 0; i < r->families->len; i++)
    {
      const BfMetricFamily *f = r->families->pdata[i];
      g_string_append_printf (out, "# HELP %s ", f->name);
      append_help (out, f->help);
      g_string_append_printf (out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
      for (guint j = 0; j < f->series->len; j++)
        render_series (out, f->series->pdata[j]);
    }
  g_mutex_unlock (&r->lock);
  return g_string_free (out, FALSE);
}

/* --- the module API (include/belfry/metrics.h) --- */

static BfMetric *
module_metric_new (BfModule *module, BfMetricType type, const char *name, const char *help)
{
  g_return_val_if_fail (module != NULL && name != NULL && help != NULL, NULL);
  for (const char *p = name; *p; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '_')
      {
        g_critical ("module metric '%s': use [a-z0-9_] only", name);
        return NULL;
      }
  g_autofree char *prefix = g_strdup_printf ("belfry_%s_", bf_module_get_name (module));
  for (char *p = prefix; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_')
      *p = '_';
  g_autofree char *full = g_strconcat (prefix, name, NULL);
  BfMetricFamily *f = bf_metrics_add_family (bf_metrics_get_default (), type, full, help, NULL);
  return f ? f->series->pdata[0] : NULL;
}

BfMetric *
bf_module_metric_counter_new (BfModule *module, const char *name, const char *help)
{
  return module_metric_new (module, BF_METRIC_COUNTER, name, help);
}

BfMetric *
bf_module_metric_gauge_new (BfModule *module, const char *name, const char *help)
{
  return module_metric_new (module, BF_METRIC_GAUGE, name, help);
}
