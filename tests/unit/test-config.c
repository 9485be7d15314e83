/* Unit tests: the configuration file and the group reader (relay/config.c). */
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "config.h"

#define LABEL "test-label.conf"

#define MINIMAL "[component]\njid = relay.localhost\nsecret = s3cret\n"

static BfConfig *
load_ok (const char *data)
{
  g_autoptr (GError) error = NULL;
  BfConfig *c = bf_config_load_data (data, LABEL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (c);
  return c;
}

/* The load fails with @code and a message naming the file, [@group] and
 * @key (each when not NULL). */
static void
check_bad_code (const char *data, BfConfigError code, const char *group, const char *key)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BfConfig) c = bf_config_load_data (data, LABEL, &error);
  g_assert_null (c);
  g_assert_error (error, BF_CONFIG_ERROR, (gint) code);
  g_test_message ("error: %s", error->message);
  g_assert_nonnull (strstr (error->message, LABEL));
  if (group)
    {
      g_autofree char *g = g_strdup_printf ("[%s]", group);
      g_assert_nonnull (strstr (error->message, g));
    }
  if (key)
    g_assert_nonnull (strstr (error->message, key));
}

static void
check_bad (const char *data, const char *group, const char *key)
{
  check_bad_code (data, BF_CONFIG_ERROR_INVALID, group, key);
}

/* --- good files --- */

static void
test_defaults (void)
{
  g_autoptr (BfConfig) c = load_ok (MINIMAL);
  g_assert_cmpstr (c->path, ==, LABEL);
  g_assert_cmpstr (c->jid, ==, "relay.localhost");
  g_assert_cmpstr (c->host, ==, "127.0.0.1");
  g_assert_cmpuint (c->port, ==, 5347);
  g_assert_cmpstr (c->secret, ==, "s3cret");
  g_assert_cmpuint (c->keepalive_interval, ==, 60);
  g_assert_cmpuint (c->ping_timeout, ==, 30);
  g_assert_cmpstr (c->ping_target, ==, "localhost");
  g_assert_cmpuint (c->limits.max_stanza_size, ==, BF_XML_DEFAULT_MAX_STANZA_SIZE);
  g_assert_cmpuint (c->limits.max_depth, ==, BF_XML_DEFAULT_MAX_DEPTH);
  g_assert_cmpuint (c->limits.max_attributes, ==, BF_XML_DEFAULT_MAX_ATTRIBUTES);
  g_assert_cmpuint (c->write_queue_size, ==, 4 * 1024 * 1024);
  g_assert_nonnull (c->modules);
  g_assert_null (c->modules[0]);
  g_assert_null (c->module_path);
  g_assert_nonnull (c->keyfile);
}

static void
test_values (void)
{
  g_autoptr (BfConfig) c = load_ok (
    "[component]\n"
    "jid = Relay.Example.ORG\n"
    "host = ::1\n"
    "port = 15347\n"
    "secret = s3cret\n"
    "keepalive-interval = 3600\n"
    "ping-timeout = 1\n"
    "ping-target = example.net\n"
    "[limits]\n"
    "max-stanza-size = 1024\n"
    "max-depth = 4\n"
    "max-attributes = 1024\n"
    "write-queue-size = 65536\n"
    "[modules]\n"
    "load = echo;call\n"
    "path = /opt/a;/opt/b\n"
    "[echo]\n"
    "[call]\n");
  g_assert_cmpstr (c->jid, ==, "relay.example.org");
  g_assert_cmpstr (c->host, ==, "::1");
  g_assert_cmpuint (c->port, ==, 15347);
  g_assert_cmpuint (c->keepalive_interval, ==, 3600);
  g_assert_cmpuint (c->ping_timeout, ==, 1);
  g_assert_cmpstr (c->ping_target, ==, "example.net");
  g_assert_cmpuint (c->limits.max_stanza_size, ==, 1024);
  g_assert_cmpuint (c->limits.max_depth, ==, 4);
  g_assert_cmpuint (c->limits.max_attributes, ==, 1024);
  g_assert_cmpuint (c->write_queue_size, ==, 65536);
  g_assert_cmpuint (g_strv_length (c->modules), ==, 2);
  g_assert_cmpstr (c->modules[0], ==, "echo");
  g_assert_cmpstr (c->modules[1], ==, "call");
  g_assert_nonnull (c->module_path);
  g_assert_cmpuint (g_strv_length (c->module_path), ==, 2);
  g_assert_cmpstr (c->module_path[0], ==, "/opt/a");
  g_assert_cmpstr (c->module_path[1], ==, "/opt/b");

  /* a single-label jid is its own ping target */
  g_autoptr (BfConfig) single = load_ok ("[component]\njid = localhost\nsecret = x\n");
  g_assert_cmpstr (single->ping_target, ==, "localhost");
}

static void
test_inline_comments (void)
{
  g_autoptr (BfConfig) c = load_ok (
    "# a whole-line comment\n"
    "[component]\n"
    "jid = relay.localhost   # the domain\n"
    "host = 10.0.0.1\t# tab before the hash\n"
    "port = 5348 # the port\n"
    "secret = s3cret\n"
    "keepalive-interval = 30 # seconds\n"
    "ping-target = example.org#not-a-comment\n"
    "[limits]\n"
    "max-depth = 8 # deep enough\n"
    "[modules]\n"
    "load = echo;call # the rest is a comment ; ignored\n"
    "path = /opt/a # only one\n"
    "[echo]\n"
    "[call]\n");
  g_assert_cmpstr (c->jid, ==, "relay.localhost");
  g_assert_cmpstr (c->host, ==, "10.0.0.1");
  g_assert_cmpuint (c->port, ==, 5348);
  g_assert_cmpuint (c->keepalive_interval, ==, 30);
  g_assert_cmpuint (c->limits.max_depth, ==, 8);
  /* a '#' that does not follow whitespace is part of the value */
  g_assert_cmpstr (c->ping_target, ==, "example.org#not-a-comment");
  g_assert_cmpuint (g_strv_length (c->modules), ==, 2);
  g_assert_cmpstr (c->modules[0], ==, "echo");
  g_assert_cmpstr (c->modules[1], ==, "call");
  g_assert_cmpuint (g_strv_length (c->module_path), ==, 1);
  g_assert_cmpstr (c->module_path[0], ==, "/opt/a");

  /* a comment in a list swallows later items */
  g_autoptr (BfConfig) c2 = load_ok (MINIMAL "[modules]\nload = echo # first;call\n[echo]\n");
  g_assert_cmpuint (g_strv_length (c2->modules), ==, 1);
  g_assert_cmpstr (c2->modules[0], ==, "echo");

  /* the secret is taken verbatim */
  g_autoptr (BfConfig) c3 = load_ok ("[component]\njid = relay.localhost\n"
                                     "secret = abc #def\n");
  g_assert_cmpstr (c3->secret, ==, "abc #def");
}

static char *
write_temp (const char *contents, gssize len)
{
  g_autoptr (GError) error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp ("belfry-test-secret-XXXXXX", &path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (fd, >=, 0);
  close (fd);
  g_assert_true (g_file_set_contents (path, contents, len, &error));
  g_assert_no_error (error);
  return path;
}

static void
test_secret_file (void)
{
  g_autofree char *path = write_temp ("file-secret\n", -1);
  g_autofree char *data = g_strdup_printf ("[component]\njid = relay.localhost\n"
                                           "secret-file = %s  # comment\n", path);
  g_autoptr (BfConfig) c = load_ok (data);
  g_assert_cmpstr (c->secret, ==, "file-secret");

  /* missing file */
  g_autofree char *missing = g_strconcat (path, ".missing", NULL);
  g_autofree char *data_missing = g_strdup_printf ("[component]\njid = relay.localhost\n"
                                                   "secret-file = %s\n", missing);
  check_bad (data_missing, "component", "secret-file");

  /* empty file, and a file holding only a newline */
  g_autofree char *empty = write_temp ("", 0);
  g_autofree char *data_empty = g_strdup_printf ("[component]\njid = relay.localhost\n"
                                                 "secret-file = %s\n", empty);
  check_bad (data_empty, "component", "secret-file");
  g_autofree char *newline = write_temp ("\n", -1);
  g_autofree char *data_newline = g_strdup_printf ("[component]\njid = relay.localhost\n"
                                                   "secret-file = %s\n", newline);
  check_bad (data_newline, "component", "secret-file");

  /* a NUL byte inside */
  g_autofree char *nul = write_temp ("ab\0cd\n", 6);
  g_autofree char *data_nul = g_strdup_printf ("[component]\njid = relay.localhost\n"
                                               "secret-file = %s\n", nul);
  check_bad (data_nul, "component", "secret-file");

  g_unlink (path);
  g_unlink (empty);
  g_unlink (newline);
  g_unlink (nul);
}

/* --- bad files --- */

static void
test_bad_component (void)
{
  check_bad ("[limits]\nmax-depth = 8\n", "component", "jid");
  check_bad ("", "component", "jid");
  check_bad ("[component]\nsecret = x\n", "component", "jid");
  check_bad ("[component]\njid = a@relay.localhost\nsecret = x\n", "component", "jid");
  check_bad ("[component]\njid = relay.localhost/r\nsecret = x\n", "component", "jid");
  check_bad ("[component]\njid = @relay.localhost\nsecret = x\n", "component", "jid");
  check_bad ("[component]\njid =\nsecret = x\n", "component", "jid");
  check_bad (MINIMAL "port = abc\n", "component", "port");
  check_bad (MINIMAL "port = 0\n", "component", "port");
  check_bad (MINIMAL "port = 70000\n", "component", "port");
  check_bad (MINIMAL "port = -1\n", "component", "port");
  check_bad (MINIMAL "port = 12 34\n", "component", "port");
  check_bad (MINIMAL "host =\n", "component", "host");
  check_bad (MINIMAL "keepalive-interval = 0\n", "component", "keepalive-interval");
  check_bad (MINIMAL "keepalive-interval = 3601\n", "component", "keepalive-interval");
  check_bad (MINIMAL "ping-timeout = 0\n", "component", "ping-timeout");
  check_bad (MINIMAL "ping-target = a@b@c\n", "component", "ping-target");
  check_bad (MINIMAL "colour = red\n", "component", "colour");
}

static void
test_bad_secret (void)
{
  check_bad ("[component]\njid = relay.localhost\nsecret = x\nsecret-file = /nonexistent\n",
             "component", "secret-file");
  check_bad ("[component]\njid = relay.localhost\n", "component", "secret");
  check_bad ("[component]\njid = relay.localhost\nsecret =\n", "component", "secret");
  check_bad ("[component]\njid = relay.localhost\nsecret =    \n", "component", "secret");
}

static void
test_bad_limits (void)
{
  check_bad (MINIMAL "[limits]\nmax-stanza-size = 1023\n", "limits", "max-stanza-size");
  check_bad (MINIMAL "[limits]\nmax-stanza-size = 16777217\n", "limits", "max-stanza-size");
  check_bad (MINIMAL "[limits]\nmax-stanza-size = big\n", "limits", "max-stanza-size");
  check_bad (MINIMAL "[limits]\nmax-depth = 3\n", "limits", "max-depth");
  check_bad (MINIMAL "[limits]\nmax-attributes = 1025\n", "limits", "max-attributes");
  check_bad (MINIMAL "[limits]\nwrite-queue-size = 1\n", "limits", "write-queue-size");
  check_bad (MINIMAL "[limits]\nmax-size = 5\n", "limits", "max-size");
}

static void
test_bad_modules (void)
{
  check_bad (MINIMAL "[modules]\nlod = echo\n", "modules", "lod");
  check_bad (MINIMAL "[modules]\nload = ec/ho\n", "modules", "load");
  check_bad (MINIMAL "[modules]\nload = echo;ec ho\n", "modules", "load");
  check_bad (MINIMAL "[modules]\nload = echo;call;echo\n[echo]\n", "modules", "load");
  check_bad (MINIMAL "[modules]\nload = limits\n", "modules", "load");
  /* a group that belongs to nobody */
  check_bad (MINIMAL "[foo]\nx = 1\n", "foo", NULL);
  check_bad (MINIMAL "[modules]\nload = echo\n[echo]\n[call]\n", "call", NULL);
}

static void
test_bad_syntax (void)
{
  check_bad_code ("[component\njid = x\n", BF_CONFIG_ERROR_READ, NULL, NULL);
  check_bad_code ("just text\n", BF_CONFIG_ERROR_READ, NULL, NULL);
}

/* --- the group reader --- */

static void
test_group_reader (void)
{
  g_autoptr (BfConfig) c = load_ok (
    MINIMAL
    "[modules]\n"
    "load = mod\n"
    "[mod]\n"
    "name = hello world # comment\n"
    "count = 42\n"
    "neg = -5\n"
    "big = 99999999999\n"
    "notint = 4x\n"
    "flag1 = true\n"
    "flag2 = no\n"
    "flag3 = 1\n"
    "flag4 = FALSE\n"
    "flag5 = Yes # comment\n"
    "flag6 = 0\n"
    "badflag = maybe\n"
    "list = a; b ;c # d;e\n"
    "emptylist =\n"
    "unread = x\n");
  g_autoptr (BfConfigGroup) g = bf_config_group_new (c, "mod");
  g_autoptr (GError) error = NULL;

  g_assert_true (bf_config_has_key (g, "name"));
  g_assert_false (bf_config_has_key (g, "absent"));

  g_autofree char *name = bf_config_get_string (g, "name", "def", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (name, ==, "hello world");
  g_autofree char *def = bf_config_get_string (g, "absent2", "def", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (def, ==, "def");
  g_autofree char *def_null = bf_config_get_string (g, "absent3", NULL, &error);
  g_assert_no_error (error);
  g_assert_null (def_null);

  gint64 v = 0;
  g_assert_true (bf_config_get_int (g, "count", 0, 0, 100, &v, &error));
  g_assert_no_error (error);
  g_assert_cmpint (v, ==, 42);
  g_assert_true (bf_config_get_int (g, "count", 0, 42, 42, &v, &error));
  g_assert_cmpint (v, ==, 42);
  g_assert_true (bf_config_get_int (g, "neg", 0, -10, 10, &v, &error));
  g_assert_no_error (error);
  g_assert_cmpint (v, ==, -5);
  g_assert_true (bf_config_get_int (g, "absent4", 7, 0, 10, &v, &error));
  g_assert_no_error (error);
  g_assert_cmpint (v, ==, 7);

  g_assert_false (bf_config_get_int (g, "count", 0, 0, 41, &v, &error));
  g_assert_error (error, BF_CONFIG_ERROR, BF_CONFIG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, LABEL));
  g_assert_nonnull (strstr (error->message, "[mod]"));
  g_assert_nonnull (strstr (error->message, "count"));
  g_clear_error (&error);
  g_assert_false (bf_config_get_int (g, "count", 0, 43, 100, &v, &error));
  g_assert_error (error, BF_CONFIG_ERROR, BF_CONFIG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (bf_config_get_int (g, "big", 0, 0, G_MAXINT32, &v, &error));
  g_assert_error (error, BF_CONFIG_ERROR, BF_CONFIG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "big"));
  g_clear_error (&error);
  g_assert_false (bf_config_get_int (g, "notint", 0, 0, 100, &v, &error));
  g_assert_error (error, BF_CONFIG_ERROR, BF_CONFIG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "[mod]"));
  g_assert_nonnull (strstr (error->message, "notint"));
  g_clear_error (&error);

  static const struct { const char *key; gboolean value; } bools[] = {
    { "flag1", TRUE }, { "flag2", FALSE }, { "flag3", TRUE },
    { "flag4", FALSE }, { "flag5", TRUE }, { "flag6", FALSE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bools); i++)
    {
      gboolean b = !bools[i].value;
      g_assert_true (bf_config_get_boolean (g, bools[i].key, !bools[i].value, &b, &error));
      g_assert_no_error (error);
      g_assert_cmpint (b, ==, bools[i].value);
    }
  gboolean b = FALSE;
  g_assert_true (bf_config_get_boolean (g, "absent5", TRUE, &b, &error));
  g_assert_true (b);
  g_assert_false (bf_config_get_boolean (g, "badflag", FALSE, &b, &error));
  g_assert_error (error, BF_CONFIG_ERROR, BF_CONFIG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, LABEL));
  g_assert_nonnull (strstr (error->message, "[mod]"));
  g_assert_nonnull (strstr (error->message, "badflag"));
  g_clear_error (&error);

  g_auto (GStrv) list = bf_config_get_string_list (g, "list", &error);
  g_assert_no_error (error);
  g_assert_nonnull (list);
  g_assert_cmpuint (g_strv_length (list), ==, 3);
  g_assert_cmpstr (list[0], ==, "a");
  g_assert_cmpstr (list[1], ==, "b");
  g_assert_cmpstr (list[2], ==, "c");
  g_auto (GStrv) empty = bf_config_get_string_list (g, "emptylist", &error);
  g_assert_no_error (error);
  g_assert_nonnull (empty);
  g_assert_null (empty[0]);
  g_auto (GStrv) none = bf_config_get_string_list (g, "absent6", &error);
  g_assert_no_error (error);
  g_assert_null (none);

  /* 'unread' is the one key nobody asked for */
  g_assert_false (bf_config_group_check_unknown (g, &error));
  g_assert_error (error, BF_CONFIG_ERROR, BF_CONFIG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, LABEL));
  g_assert_nonnull (strstr (error->message, "[mod]"));
  g_assert_nonnull (strstr (error->message, "unread"));
  g_clear_error (&error);
  g_assert_true (bf_config_has_key (g, "unread"));
  g_assert_true (bf_config_group_check_unknown (g, &error));
  g_assert_no_error (error);

  /* bf_config_set_error names file, group and key */
  bf_config_set_error (g, &error, "name", "too %s", "friendly");
  g_assert_error (error, BF_CONFIG_ERROR, BF_CONFIG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, LABEL));
  g_assert_nonnull (strstr (error->message, "[mod]"));
  g_assert_nonnull (strstr (error->message, "name"));
  g_assert_nonnull (strstr (error->message, "too friendly"));
}

static void
test_group_reader_empty_group (void)
{
  g_autoptr (BfConfig) c = load_ok (MINIMAL);
  /* a group absent from the file: defaults, and nothing unknown */
  g_autoptr (BfConfigGroup) g = bf_config_group_new (c, "nothere");
  g_autoptr (GError) error = NULL;
  g_autofree char *s = bf_config_get_string (g, "k", "d", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (s, ==, "d");
  gint64 v = 0;
  g_assert_true (bf_config_get_int (g, "n", 3, 0, 5, &v, &error));
  g_assert_cmpint (v, ==, 3);
  g_assert_true (bf_config_group_check_unknown (g, &error));
  g_assert_no_error (error);

  /* the core's own group read by a fresh reader: every key is unread */
  g_autoptr (BfConfigGroup) comp = bf_config_group_new (c, "component");
  g_assert_false (bf_config_group_check_unknown (comp, &error));
  g_assert_nonnull (strstr (error->message, "[component]"));
  g_assert_nonnull (strstr (error->message, "jid"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add_func ("/config/values", test_values);
  g_test_add_func ("/config/inline-comments", test_inline_comments);
  g_test_add_func ("/config/secret-file", test_secret_file);
  g_test_add_func ("/config/bad/component", test_bad_component);
  g_test_add_func ("/config/bad/secret", test_bad_secret);
  g_test_add_func ("/config/bad/limits", test_bad_limits);
  g_test_add_func ("/config/bad/modules", test_bad_modules);
  g_test_add_func ("/config/bad/syntax", test_bad_syntax);
  g_test_add_func ("/config/group-reader", test_group_reader);
  g_test_add_func ("/config/group-reader/empty-group", test_group_reader_empty_group);
  return g_test_run ();
}
