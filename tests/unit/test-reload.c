/* Unit tests: configuration reload (relay/reload.c): a registered reader
 * applies its keys; a change elsewhere is refused by name and its value
 * never logged; a bad value anywhere changes nothing (all or nothing); an
 * unreadable file changes nothing. */
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "config.h"
#include "modules.h"
#include "reload.h"

static gint64 applied_max = -1;
static guint admin_applies;

static gboolean
media_reader (gpointer data, BfConfigGroup *group, gboolean apply, GPtrArray *changes,
              GError **error)
{
  (void) data;
  gint64 max;
  if (!bf_config_get_int (group, "max-sessions", 1000, 1, 100, &max, error))
    return FALSE;
  if (apply)
    {
      if (max != applied_max)
        g_ptr_array_add (changes, g_strdup_printf ("[media] max-sessions: %" G_GINT64_FORMAT
                                                   " → %" G_GINT64_FORMAT, applied_max, max));
      applied_max = max;
    }
  return TRUE;
}

static gboolean
admin_reader (gpointer data, BfConfigGroup *group, gboolean apply, GPtrArray *changes,
              GError **error)
{
  (void) data; (void) changes;
  g_autoptr (GError) local = NULL;
  g_auto (GStrv) jids = bf_config_get_string_list (group, "jids", &local);
  if (local)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (apply && jids)
    admin_applies++;
  return TRUE;
}

static void
write_file (const char *path, const char *media, const char *admin, const char *secret)
{
  g_autofree char *text = g_strdup_printf ("[component]\njid = r.example\nsecret = %s\n"
                                           "[media]\n%s\n[admin]\n%s\n", secret, media, admin);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

static void
test_reload (void)
{
  g_autofree char *dir = g_dir_make_tmp ("belfry-reload-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "belfry.conf", NULL);
  write_file (path, "max-sessions = 10\nworkers = 0", "jids = a@b", "first-Secret");
  g_autoptr (GError) error = NULL;
  g_autoptr (BfConfig) config = bf_config_load (path, &error);
  g_assert_no_error (error);
  g_autoptr (BfModules) modules = bf_modules_new (config, NULL, NULL);
  g_autoptr (BfReload) reload = bf_reload_new (config, modules);
  static const char *const media_keys[] = { "max-sessions", NULL };
  static const char *const admin_keys[] = { "jids", NULL };
  bf_reload_register (reload, "media", media_keys, media_reader, NULL);
  bf_reload_register (reload, "admin", admin_keys, admin_reader, NULL);
  applied_max = 10;

  /* a live key */
  write_file (path, "max-sessions = 20\nworkers = 0", "jids = a@b", "first-Secret");
  g_assert_true (bf_reload_run (reload));
  g_assert_cmpint (applied_max, ==, 20);
  g_assert_cmpuint (admin_applies, ==, 1);

  /* restart-only keys: refused by name, the rest applied (every record
   * of the reload is expected, in order) */
  g_test_expect_message ("belfry", G_LOG_LEVEL_MESSAGE, "reload: reading *");
  g_test_expect_message ("belfry", G_LOG_LEVEL_WARNING,
                         "reload: [component] secret changed: needs a restart; "
                         "the running value stays");
  g_test_expect_message ("belfry", G_LOG_LEVEL_WARNING,
                         "reload: [media] workers changed: needs a restart; "
                         "the running value stays");
  g_test_expect_message ("belfry", G_LOG_LEVEL_MESSAGE, "reload: [media] max-sessions: 20 → 30");
  g_test_expect_message ("belfry", G_LOG_LEVEL_MESSAGE, "reload: done; 1 change (some refused)");
  write_file (path, "max-sessions = 30\nworkers = 4", "jids = a@b;c@d", "second-Secret");
  g_assert_true (bf_reload_run (reload));
  g_test_assert_expected_messages ();
  g_assert_cmpint (applied_max, ==, 30);
  g_assert_cmpuint (admin_applies, ==, 2);

  /* a bad value in one group: nothing applied anywhere */
  g_autofree char *want = g_strdup_printf ("reload refused, nothing changed: %s: [media] "
                                           "max-sessions: 0 is out of range (1..100)", path);
  g_test_expect_message ("belfry", G_LOG_LEVEL_MESSAGE, "reload: reading *");
  g_test_expect_message ("belfry", G_LOG_LEVEL_WARNING, want);
  write_file (path, "max-sessions = 0\nworkers = 0", "jids = x@y", "first-Secret");
  g_assert_false (bf_reload_run (reload));
  g_test_assert_expected_messages ();
  g_assert_cmpint (applied_max, ==, 30);
  g_assert_cmpuint (admin_applies, ==, 2);

  /* not a key file */
  g_test_expect_message ("belfry", G_LOG_LEVEL_MESSAGE, "reload: reading *");
  g_test_expect_message ("belfry", G_LOG_LEVEL_WARNING, "reload refused, nothing changed: *");
  g_assert_true (g_file_set_contents (path, "[component\n", -1, NULL));
  g_assert_false (bf_reload_run (reload));
  g_test_assert_expected_messages ();
  g_assert_cmpint (applied_max, ==, 30);

  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/reload/live-refused-all-or-nothing", test_reload);
  return g_test_run ();
}
