/* The configuration file (config.h) and the group reader modules use. */
#include "build-config.h"

#include <string.h>

#include "config.h"

G_DEFINE_QUARK (bf-config-error-quark, bf_config_error)

/* The groups the core itself reads; any other group must belong to a
 * module named in [modules] load. */
static const char *const core_groups[] = { "component", "limits", "modules", "media", "metrics",
                                           "admin",
                                           NULL };

struct _BfConfigGroup {
  char *path;
  GKeyFile *keyfile;       /* borrowed from the BfConfig */
  char *group;
  GHashTable *read;        /* keys somebody asked for */
};

BfConfigGroup *
bf_config_group_new (const BfConfig *config, const char *group)
{
  BfConfigGroup *g = g_new0 (BfConfigGroup, 1);
  g->path = g_strdup (config->path);
  g->keyfile = config->keyfile;
  g->group = g_strdup (group);
  g->read = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return g;
}

void
bf_config_group_free (BfConfigGroup *group)
{
  if (group == NULL)
    return;
  g_free (group->path);
  g_free (group->group);
  g_hash_table_unref (group->read);
  g_free (group);
}

void
bf_config_set_error (BfConfigGroup *config, GError **error, const char *key,
                     const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error (error, BF_CONFIG_ERROR, BF_CONFIG_ERROR_INVALID, "%s: [%s] %s: %s",
               config->path, config->group, key, msg);
}

static void
mark_read (BfConfigGroup *g, const char *key)
{
  if (!g_hash_table_contains (g->read, key))
    g_hash_table_add (g->read, g_strdup (key));
}

gboolean
bf_config_has_key (BfConfigGroup *config, const char *key)
{
  mark_read (config, key);
  return g_key_file_has_key (config->keyfile, config->group, key, NULL);
}

/* An unquoted '#' after whitespace starts a comment, so the examples'
 * "port = 5347   # comment" style works.  (GKeyFile itself only knows
 * whole-line comments.)  A secret containing " #" belongs in secret-file. */
static gboolean
strip_inline_comment (char *value)
{
  gboolean found = FALSE;
  for (char *p = value; *p; p++)
    if (*p == '#' && (p == value || g_ascii_isspace (p[-1])))
      {
        *p = '\0';
        found = TRUE;
        break;
      }
  g_strstrip (value);
  return found;
}

char *
bf_config_get_string (BfConfigGroup *config, const char *key,
                      const char *default_value, GError **error)
{
  if (!bf_config_has_key (config, key))
    return g_strdup (default_value);
  g_autoptr (GError) local = NULL;
  char *value = g_key_file_get_string (config->keyfile, config->group, key, &local);
  if (value == NULL)
    {
      bf_config_set_error (config, error, key, "%s", local->message);
      return NULL;
    }
  strip_inline_comment (value);
  return value;
}

/* The value of @key for the typed getters: NULL in *@text when absent. */
static gboolean
get_raw (BfConfigGroup *config, const char *key, char **text, GError **error)
{
  g_autoptr (GError) local = NULL;
  *text = bf_config_get_string (config, key, NULL, &local);
  if (local)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  return TRUE;
}

gboolean
bf_config_get_int (BfConfigGroup *config, const char *key, gint64 default_value,
                   gint64 min, gint64 max, gint64 *out, GError **error)
{
  g_autofree char *text = NULL;
  if (!get_raw (config, key, &text, error))
    return FALSE;
  if (text == NULL)
    {
      *out = default_value;
      return TRUE;
    }
  gint64 value;
  if (!g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, &value, NULL))
    {
      bf_config_set_error (config, error, key, "'%s' is not an integer", text);
      return FALSE;
    }
  if (value < min || value > max)
    {
      bf_config_set_error (config, error, key,
                           "%" G_GINT64_FORMAT " is out of range (%" G_GINT64_FORMAT
                           "..%" G_GINT64_FORMAT ")", value, min, max);
      return FALSE;
    }
  *out = value;
  return TRUE;
}

gboolean
bf_config_get_boolean (BfConfigGroup *config, const char *key, gboolean default_value,
                       gboolean *out, GError **error)
{
  g_autofree char *text = NULL;
  if (!get_raw (config, key, &text, error))
    return FALSE;
  if (text == NULL)
    *out = default_value;
  else if (g_ascii_strcasecmp (text, "true") == 0 || g_ascii_strcasecmp (text, "yes") == 0
           || strcmp (text, "1") == 0)
    *out = TRUE;
  else if (g_ascii_strcasecmp (text, "false") == 0 || g_ascii_strcasecmp (text, "no") == 0
           || strcmp (text, "0") == 0)
    *out = FALSE;
  else
    {
      bf_config_set_error (config, error, key, "'%s' is not a boolean (true or false)", text);
      return FALSE;
    }
  return TRUE;
}

char **
bf_config_get_string_list (BfConfigGroup *config, const char *key, GError **error)
{
  if (!bf_config_has_key (config, key))
    return NULL;
  g_autoptr (GError) local = NULL;
  g_auto (GStrv) raw = g_key_file_get_string_list (config->keyfile, config->group, key,
                                                   NULL, &local);
  if (raw == NULL)
    {
      /* An empty value is an empty list, not an error. */
      if (g_error_matches (local, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE)
          || local == NULL)
        return g_new0 (char *, 1);
      bf_config_set_error (config, error, key, "%s", local->message);
      return NULL;
    }
  GPtrArray *items = g_ptr_array_new ();
  gboolean comment = FALSE;
  for (guint i = 0; raw[i] && !comment; i++)
    {
      char *item = g_strdup (raw[i]);
      /* A comment swallows the rest of the line, later items included. */
      comment = strip_inline_comment (item);
      if (*item)
        g_ptr_array_add (items, item);
      else
        g_free (item);
    }
  g_ptr_array_add (items, NULL);
  return (char **) g_ptr_array_free (items, FALSE);
}

gboolean
bf_config_get_domain_list (BfConfigGroup *config, const char *key, const char *default_domain,
                           char ***out, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_auto (GStrv) list = bf_config_get_string_list (config, key, &local);
  *out = NULL;
  if (local)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (list == NULL)
    {
      const char *only[] = { default_domain, NULL };
      *out = g_strdupv ((char **) only);
    }
  else if (g_strv_contains ((const char *const *) list, "*"))
    ;   /* anyone */
  else if (list[0] == NULL)
    {
      bf_config_set_error (config, error, key, "empty (use * to allow anyone)");
      return FALSE;
    }
  else
    *out = g_steal_pointer (&list);
  return TRUE;
}

gboolean
bf_domain_list_contains (const char *const *domains, const char *domain)
{
  if (domains == NULL)
    return TRUE;
  for (guint i = 0; domain && domains[i]; i++)
    if (g_ascii_strcasecmp (domains[i], domain) == 0)
      return TRUE;
  return FALSE;
}

gboolean
bf_config_group_check_unknown (BfConfigGroup *group, GError **error)
{
  g_auto (GStrv) keys = g_key_file_get_keys (group->keyfile, group->group, NULL, NULL);
  for (guint i = 0; keys && keys[i]; i++)
    if (!g_hash_table_contains (group->read, keys[i]))
      {
        bf_config_set_error (group, error, keys[i], "unknown key");
        return FALSE;
      }
  return TRUE;
}

/* --- the core's own groups --- */

/* A [component] key naming a further domain the process attaches as,
 * other than jid and node-jid.  @hint ends the error for a clash.
 * Absent or empty: *out stays NULL. */
static gboolean
read_own_domain (BfConfig *c, BfConfigGroup *g, const char *key, const char *hint,
                 char **out, GError **error)
{
  g_autofree char *v = bf_config_get_string (g, key, "", error);
  if (v == NULL)
    return FALSE;
  if (*v == '\0')
    return TRUE;
  g_autofree char *local = NULL, *domain = NULL, *resource = NULL;
  if (!bf_jid_split (v, &local, &domain, &resource) || local || resource || strchr (v, ' '))
    {
      bf_config_set_error (g, error, key, "'%s' is not a domain name", v);
      return FALSE;
    }
  if (g_ascii_strcasecmp (domain, c->jid) == 0
      || (c->node_jid && g_ascii_strcasecmp (domain, c->node_jid) == 0))
    {
      bf_config_set_error (g, error, key, "'%s' is the jid%s itself (%s, e.g. %s.%s)", v,
                           c->node_jid ? " or the node-jid" : "", hint,
                           strcmp (key, "node-jid") == 0 ? "n1" : "rooms", c->jid);
      return FALSE;
    }
  *out = g_steal_pointer (&domain);
  return TRUE;
}

/* [component] node-jid: this process's own sub-domain when several
 * processes share jid (docs/architecture.md, "Several relays behind one
 * relay domain"): a second component connection, the domain the legs it
 * places are addressed from.
 * [component] rooms-jid: a further domain every process attaches, which
 * ejabberd balances by the recipient's bare JID (bare_destination), so
 * that all of a room's participants reach the one process hosting it; the
 * conference serves its rooms there. */
static gboolean
read_node_and_rooms_jid (BfConfig *c, BfConfigGroup *g, GError **error)
{
  return read_own_domain (c, g, "node-jid", "give this process a sub-domain of its own",
                          &c->node_jid, error)
         && read_own_domain (c, g, "rooms-jid", "give the rooms a domain of their own",
                             &c->rooms_jid, error);
}

/* [component] siblings: the node-jids of the other processes that share
 * jid, each watched and, when it is gone, its slot of the shared domain
 * taken over (siblings.h).  Needs node-jid: the pings leave from it. */
static gboolean
read_siblings (BfConfig *c, BfConfigGroup *g, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_auto (GStrv) list = bf_config_get_string_list (g, "siblings", &local);
  if (local)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (list == NULL || list[0] == NULL)
    return TRUE;
  if (c->node_jid == NULL)
    {
      bf_config_set_error (g, error, "siblings", "needs node-jid (the pings leave from it)");
      return FALSE;
    }
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; list[i]; i++)
    {
      g_autofree char *local_part = NULL, *domain = NULL, *resource = NULL;
      const char *bad = NULL;
      if (!bf_jid_split (list[i], &local_part, &domain, &resource) || local_part || resource
          || strchr (list[i], ' '))
        bad = "is not a domain name";
      else if (g_ascii_strcasecmp (domain, c->jid) == 0
               || g_ascii_strcasecmp (domain, c->node_jid) == 0)
        bad = "is this process's own jid or node-jid";
      for (guint j = 0; bad == NULL && j < out->len; j++)
        if (g_ascii_strcasecmp (out->pdata[j], domain) == 0)
          bad = "is given twice";
      if (bad == NULL && out->len >= BF_CONFIG_MAX_SIBLINGS)
        bad = "is one too many (at most " G_STRINGIFY (BF_CONFIG_MAX_SIBLINGS) ")";
      if (bad)
        {
          bf_config_set_error (g, error, "siblings", "'%s' %s", list[i], bad);
          g_ptr_array_unref (out);
          return FALSE;
        }
      g_ptr_array_add (out, g_steal_pointer (&domain));
    }
  g_ptr_array_add (out, NULL);
  c->siblings = (char **) g_ptr_array_free (out, FALSE);
  return TRUE;
}

static gboolean
read_component (BfConfig *c, GError **error)
{
  g_autoptr (BfConfigGroup) g = bf_config_group_new (c, "component");
  gint64 v;

  if (!g_key_file_has_group (c->keyfile, "component"))
    {
      g_set_error (error, BF_CONFIG_ERROR, BF_CONFIG_ERROR_INVALID,
                   "%s: [component] jid: missing (the [component] group is required)", c->path);
      return FALSE;
    }

  c->jid = bf_config_get_string (g, "jid", NULL, error);
  if (c->jid == NULL)
    {
      if (error && *error == NULL)
        bf_config_set_error (g, error, "jid", "missing (the component's domain, e.g. relay.example.org)");
      return FALSE;
    }
  g_autofree char *local = NULL, *domain = NULL, *resource = NULL;
  if (!bf_jid_split (c->jid, &local, &domain, &resource) || local || resource
      || strchr (c->jid, ' '))
    {
      bf_config_set_error (g, error, "jid", "'%s' is not a domain name", c->jid);
      return FALSE;
    }
  g_free (c->jid);
  c->jid = g_steal_pointer (&domain);
  if (!read_node_and_rooms_jid (c, g, error) || !read_siblings (c, g, error))
    return FALSE;

  c->host = bf_config_get_string (g, "host", "127.0.0.1", error);
  if (c->host == NULL)
    return FALSE;
  if (*c->host == '\0')
    {
      bf_config_set_error (g, error, "host", "empty");
      return FALSE;
    }
  if (!bf_config_get_int (g, "port", 5347, 1, 65535, &v, error))
    return FALSE;
  c->port = (guint16) v;

  gboolean has_secret = g_key_file_has_key (c->keyfile, "component", "secret", NULL);
  gboolean has_file = g_key_file_has_key (c->keyfile, "component", "secret-file", NULL);
  if (has_secret && has_file)
    {
      bf_config_set_error (g, error, "secret-file", "give either 'secret' or 'secret-file', not both");
      return FALSE;
    }
  if (!has_secret && !has_file)
    {
      bf_config_set_error (g, error, "secret", "missing (or give 'secret-file')");
      return FALSE;
    }
  if (has_secret)
    {
      /* The secret is taken verbatim (no inline comment). */
      mark_read (g, "secret");
      c->secret = g_key_file_get_string (c->keyfile, "component", "secret", NULL);
      if (c->secret)
        g_strstrip (c->secret);
      if (c->secret == NULL || *c->secret == '\0')
        {
          bf_config_set_error (g, error, "secret", "empty");
          return FALSE;
        }
    }
  else
    {
      g_autofree char *file = bf_config_get_string (g, "secret-file", NULL, error);
      if (file == NULL)
        return FALSE;
      g_autoptr (GError) local_error = NULL;
      gsize len = 0;
      if (!g_file_get_contents (file, &c->secret, &len, &local_error))
        {
          bf_config_set_error (g, error, "secret-file", "cannot read: %s", local_error->message);
          return FALSE;
        }
      if (memchr (c->secret, '\0', len))
        {
          bf_config_set_error (g, error, "secret-file", "%s holds a NUL byte", file);
          return FALSE;
        }
      g_strchomp (c->secret);
      if (*c->secret == '\0')
        {
          bf_config_set_error (g, error, "secret-file", "%s is empty", file);
          return FALSE;
        }
    }

  if (!bf_config_get_int (g, "keepalive-interval", 60, 1, 3600, &v, error))
    return FALSE;
  c->keepalive_interval = (guint) v;
  if (!bf_config_get_int (g, "ping-timeout", 30, 1, 600, &v, error))
    return FALSE;
  c->ping_timeout = (guint) v;
  /* Stanzas sent while the link is down wait for the next handshake. */
  if (!bf_config_get_int (g, "hold-while-detached", 30, 0, 300, &v, error))
    return FALSE;
  c->hold_time = (guint) v;
  if (!bf_config_get_int (g, "hold-stanzas", 1000, 1, 100000, &v, error))
    return FALSE;
  c->hold_stanzas = (guint) v;

  const char *dot = strchr (c->jid, '.');
  c->parent_domain = g_strdup (dot && dot[1] ? dot + 1 : c->jid);
  g_autofree char *parent = g_strdup (c->parent_domain);
  g_autoptr (GError) local_error = NULL;
  c->ping_target = bf_config_get_string (g, "ping-target", parent, &local_error);
  if (local_error)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (*c->ping_target == '\0')
    {
      /* "ping-target =" means the default, as the example config says. */
      g_free (c->ping_target);
      c->ping_target = g_steal_pointer (&parent);
    }
  if (!bf_jid_split (c->ping_target, NULL, NULL, NULL))
    {
      bf_config_set_error (g, error, "ping-target", "'%s' is not a JID", c->ping_target);
      return FALSE;
    }
  /* Operating (README "Operating belfry"): how long a drain waits for the
   * last session, and the log level SIGHUP may change. */
  if (!bf_config_get_int (g, "drain-timeout", 3600, 1, 7 * 24 * 3600, &v, error))
    return FALSE;
  c->drain_timeout = (guint) v;
  g_autofree char *level = bf_config_get_string (g, "log-level", "info", &local_error);
  if (local_error)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (strcmp (level, "debug") != 0 && strcmp (level, "info") != 0)
    {
      bf_config_set_error (g, error, "log-level", "'%s' is not info or debug", level);
      return FALSE;
    }
  c->debug_log = strcmp (level, "debug") == 0;
  return bf_config_group_check_unknown (g, error);
}

static gboolean
read_limits (BfConfig *c, GError **error)
{
  g_autoptr (BfConfigGroup) g = bf_config_group_new (c, "limits");
  gint64 v;
  if (!bf_config_get_int (g, "max-stanza-size", BF_XML_DEFAULT_MAX_STANZA_SIZE, 1024,
                          16 * 1024 * 1024, &v, error))
    return FALSE;
  c->limits.max_stanza_size = (gsize) v;
  if (!bf_config_get_int (g, "max-depth", BF_XML_DEFAULT_MAX_DEPTH, 4, 256, &v, error))
    return FALSE;
  c->limits.max_depth = (guint) v;
  if (!bf_config_get_int (g, "max-attributes", BF_XML_DEFAULT_MAX_ATTRIBUTES, 4, 1024, &v,
                          error))
    return FALSE;
  c->limits.max_attributes = (guint) v;
  if (!bf_config_get_int (g, "write-queue-size", 4 * 1024 * 1024, 64 * 1024,
                          G_GINT64_CONSTANT (1) << 30, &v, error))
    return FALSE;
  c->write_queue_size = (gsize) v;
  if (!bf_config_get_int (g, "max-sessions-per-jid", 8, 0, 100000, &v, error))
    return FALSE;
  c->max_sessions_per_jid = (guint) v;
  return bf_config_group_check_unknown (g, error);
}

static gboolean
valid_module_name (const char *name)
{
  if (*name == '\0' || strlen (name) > 64)
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-')
      return FALSE;
  return TRUE;
}

static gboolean
read_modules (BfConfig *c, GError **error)
{
  g_autoptr (BfConfigGroup) g = bf_config_group_new (c, "modules");
  g_autoptr (GError) local = NULL;
  c->modules = bf_config_get_string_list (g, "load", &local);
  if (local)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (c->modules == NULL)
    c->modules = g_new0 (char *, 1);
  for (guint i = 0; c->modules[i]; i++)
    {
      if (!valid_module_name (c->modules[i]))
        {
          bf_config_set_error (g, error, "load", "'%s' is not a module name", c->modules[i]);
          return FALSE;
        }
      for (guint j = 0; j < i; j++)
        if (strcmp (c->modules[i], c->modules[j]) == 0)
          {
            bf_config_set_error (g, error, "load", "module '%s' is listed twice", c->modules[i]);
            return FALSE;
          }
      if (g_strv_contains (core_groups, c->modules[i]))
        {
          bf_config_set_error (g, error, "load", "'%s' is a core group, not a module",
                               c->modules[i]);
          return FALSE;
        }
    }
  c->module_path = bf_config_get_string_list (g, "path", &local);
  if (local)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  return bf_config_group_check_unknown (g, error);
}

static gboolean
check_groups (BfConfig *c, GError **error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (c->keyfile, NULL);
  for (guint i = 0; groups[i]; i++)
    if (!g_strv_contains (core_groups, groups[i])
        && !g_strv_contains ((const char *const *) c->modules, groups[i]))
      {
        g_set_error (error, BF_CONFIG_ERROR, BF_CONFIG_ERROR_INVALID,
                     "%s: [%s]: unknown group (no module of that name is in [modules] load)",
                     c->path, groups[i]);
        return FALSE;
      }
  return TRUE;
}

BfConfig *
bf_config_load_data (const char *data, const char *path, GError **error)
{
  g_autoptr (BfConfig) c = g_new0 (BfConfig, 1);
  c->path = g_strdup (path);
  c->keyfile = g_key_file_new ();
  g_autoptr (GError) local = NULL;
  if (!g_key_file_load_from_data (c->keyfile, data, (gsize) -1, G_KEY_FILE_NONE, &local))
    {
      g_set_error (error, BF_CONFIG_ERROR, BF_CONFIG_ERROR_READ, "%s: %s", path,
                   local->message);
      return NULL;
    }
  if (!read_component (c, error) || !read_limits (c, error) || !read_modules (c, error)
      || !check_groups (c, error))
    return NULL;
  return g_steal_pointer (&c);
}

BfConfig *
bf_config_load (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (path, &data, NULL, &local))
    {
      g_set_error (error, BF_CONFIG_ERROR, BF_CONFIG_ERROR_READ, "%s: cannot read: %s", path,
                   local->message);
      return NULL;
    }
  return bf_config_load_data (data, path, error);
}

void
bf_config_free (BfConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->path);
  if (config->keyfile)
    g_key_file_unref (config->keyfile);
  g_free (config->jid);
  g_free (config->node_jid);
  g_strfreev (config->siblings);
  g_free (config->rooms_jid);
  g_free (config->host);
  if (config->secret)
    {
      memset (config->secret, 0, strlen (config->secret));
      g_free (config->secret);
    }
  g_free (config->ping_target);
  g_free (config->parent_domain);
  g_strfreev (config->modules);
  g_strfreev (config->module_path);
  g_free (config);
}
