/* The call module's XEP-0106 JID escaping (modules/call/jid-escape.c),
 * against the specification's own tables and examples
 * (../shared/specs/xep/xep-0106.txt: Table 1 and 2, §4.3 examples 3-5,
 * §5.1 Table 3) and the way the module uses it: a whole bare JID carried
 * as the localpart of a relay address ("bob@example.org" <->
 * "bob\40example.org"). */
#include <string.h>
#include <glib.h>

#include "jid-escape.h"

#define MAX_JID 3071   /* what modules/call/call.c passes */

static void
check_escape (const char *in, const char *want)
{
  g_autofree char *got = call_jid_escape (in);
  g_assert_cmpstr (got, ==, want);
}

static void
check_unescape (const char *in, const char *want)
{
  g_autofree char *got = call_jid_unescape (in, MAX_JID);
  g_assert_cmpstr (got, ==, want);
}

/* NULL, and nothing leaked if it is not. */
static void
check_refused (const char *in, gsize max_len)
{
  g_autofree char *got = call_jid_unescape (in, max_len);
  g_assert_null (got);
}

/* Both ways: @raw escapes to @escaped and back. */
static void
check_pair (const char *raw, const char *escaped)
{
  check_escape (raw, escaped);
  check_unescape (escaped, raw);
}

/* Table 1 and Table 2: every character and its sequence, lower case. */
static void
test_table (void)
{
  static const struct { const char *raw, *escaped; } table[] = {
    { " ", "\\20" }, { "\"", "\\22" }, { "&", "\\26" }, { "'", "\\27" }, { "/", "\\2f" },
    { ":", "\\3a" }, { "<", "\\3c" }, { ">", "\\3e" }, { "@", "\\40" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_autofree char *raw = g_strdup_printf ("a%sb", table[i].raw);
      g_autofree char *escaped = g_strdup_printf ("a%sb", table[i].escaped);
      check_pair (raw, escaped);
      check_pair (table[i].raw, table[i].escaped);
    }
  /* Table 2 row \5c: a "\5c" on the wire is a backslash. */
  check_unescape ("a\\5cb", "a\\b");
  check_unescape ("\\5c", "\\");
  /* nothing else is touched: other ASCII punctuation, '%' (§3.1), '.' */
  check_pair ("a.b-c_d+e%f!g#h$i(j)k*l,m;n=o?p[q]r^s`t{u|v}w~x", "a.b-c_d+e%f!g#h$i(j)k*l,m;n=o?p[q]r^s`t{u|v}w~x");
  check_pair ("", "");
}

/* §5.1 Table 3, the localparts (the part before the last '@'). */
static void
test_spec_examples (void)
{
  check_pair ("space cadet", "space\\20cadet");
  check_pair ("call me \"ishmael\"", "call\\20me\\20\\22ishmael\\22");
  check_pair ("at&t guy", "at\\26t\\20guy");
  check_pair ("d'artagnan", "d\\27artagnan");
  check_pair ("/.fanboy", "\\2f.fanboy");
  check_pair ("::foo::", "\\3a\\3afoo\\3a\\3a");
  check_pair ("<foo>", "\\3cfoo\\3e");
  check_pair ("user@host", "user\\40host");
  check_pair ("c:\\net", "c\\3a\\net");
  check_pair ("c:\\\\net", "c\\3a\\\\net");
  check_pair ("c:\\cool stuff", "c\\3a\\cool\\20stuff");
  check_pair ("c:\\5commas", "c\\3a\\5c5commas");
  /* §3.3 Example 2, non-ASCII left as it is */
  check_pair ("tr\xC3\xA9ville@musketeers.lit", "tr\xC3\xA9ville\\40musketeers.lit");
  /* §4.2: the Wireless Village address */
  check_pair ("\\3and\\2is\\5cool", "\\5c3and\\2is\\5c5cool");
}

/* §4.3 Examples 3-5: partial and invalid sequences are not modified by
 * either transformation. */
static void
test_exceptions (void)
{
  static const char *const same[] = {
    "\\2plus\\2is\\4", "foo\\bar", "foob\\41r",
    "\\", "a\\", "\\\\", "\\5", "\\5x", "\\x5c", "\\g0", "\\00", "\\7f", "\\21",
    "\\ff", "\\e9", "\\c3\\a9",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (same); i++)
    {
      check_escape (same[i], same[i]);
      check_unescape (same[i], same[i]);
    }
}

/* §4.1 rule 7 / §4.2 step 3: a backslash is escaped to \5c only when it
 * starts one of the escape sequences. */
static void
test_backslash (void)
{
  check_pair ("\\5c", "\\5c5c");
  check_pair ("\\27", "\\5c27");
  check_pair ("\\40", "\\5c40");
  check_pair ("\\2f", "\\5c2f");
  check_pair ("\\5c5c", "\\5c5c5c");
  check_pair ("\\\\40", "\\\\5c40");
  check_pair ("\\4\\40", "\\4\\5c40");
  /* a backslash before an escaped character is itself no sequence */
  check_pair ("\\@", "\\\\40");
  check_pair ("\\4@", "\\4\\40");
  check_pair ("\\5\\", "\\5\\");
  /* a JID that is escaped already (a gateway user) is escaped once more
   * and comes back exactly */
  check_pair ("space\\20cadet@gw.example", "space\\5c20cadet\\40gw.example");
  check_pair ("d\\27artagnan@musketeers.lit", "d\\5c27artagnan\\40musketeers.lit");
}

/* XEP-0106 §3.1: "CASE IS SIGNIFICANT"; §4.1 rule 3: "An entity MUST
 * unescape only the specified sequences".  \2F, \3A, \3C, \3E and \5C are
 * not among them, so neither transformation may treat them as such. */
static void
test_upper_case_hex (void)
{
  static const char *const same[] = { "a\\2Fb", "\\3A", "\\3C\\3E", "\\5C", "x\\5C40" };
  for (gsize i = 0; i < G_N_ELEMENTS (same); i++)
    {
      check_unescape (same[i], same[i]);
      check_escape (same[i], same[i]);
    }
}

/* What the call module does: Alice's bare JID as a localpart, the called
 * address's localpart back to Bob's JID. */
static void
test_jids (void)
{
  check_pair ("alice@example.org", "alice\\40example.org");
  check_pair ("bob@xmpp.example.net", "bob\\40xmpp.example.net");
  check_pair ("o'hara@example.com", "o\\27hara\\40example.com");
  check_pair ("\xD0\xB8\xD0\xB2\xD0\xB0\xD0\xBD@\xD0\xBF\xD1\x80\xD0\xB8\xD0\xBC\xD0\xB5\xD1\x80.\xD1\x80\xD1\x84",
              "\xD0\xB8\xD0\xB2\xD0\xB0\xD0\xBD\\40\xD0\xBF\xD1\x80\xD0\xB8\xD0\xBC\xD0\xB5\xD1\x80.\xD1\x80\xD1\x84");
  /* the escaped form holds none of the characters a localpart may not */
  g_autofree char *e = call_jid_escape ("a b\"c&d'e/f:g<h>i@j\\40k");
  g_assert_null (strpbrk (e, " \"&'/:<>@"));
  g_assert_cmpstr (e, ==, "a\\20b\\22c\\26d\\27e\\2ff\\3ag\\3ch\\3ei\\40j\\5c40k");
}

static void
test_max_len (void)
{
  /* the limit is on the input (escaped) length, in bytes */
  g_autofree char *a = call_jid_unescape ("bob\\40x.org", 11);
  g_assert_cmpstr (a, ==, "bob@x.org");
  check_refused ("bob\\40x.org", 10);
  check_refused ("bob\\40x.org", 0);
  g_autofree char *empty = call_jid_unescape ("", 0);
  g_assert_cmpstr (empty, ==, "");
  /* bytes, not characters: "é" is two */
  g_autofree char *e = call_jid_unescape ("\xC3\xA9", 2);
  g_assert_cmpstr (e, ==, "\xC3\xA9");
  check_refused ("\xC3\xA9", 1);
  /* a long localpart, at and over the module's limit */
  g_autofree char *at = g_strnfill (MAX_JID, 'a');
  g_autofree char *over = g_strnfill (MAX_JID + 1, 'a');
  g_autofree char *got = call_jid_unescape (at, MAX_JID);
  g_assert_cmpstr (got, ==, at);
  check_refused (over, MAX_JID);
}

static void
test_invalid_utf8 (void)
{
  static const char *const bad[] = {
    "\xC3",                  /* truncated sequence */
    "bob\xC3",               /* truncated at the end */
    "\xFF",                  /* never valid */
    "\x80x",                 /* a lone continuation byte */
    "\xC0\xAF",              /* overlong '/' */
    "\xE0\x80\xAF",          /* overlong '/' */
    "\xED\xA0\x80",          /* a UTF-16 surrogate */
    "\xF4\x90\x80\x80",      /* above U+10FFFF */
    "bob\\40\xFE.org",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    check_refused (bad[i], MAX_JID);
}

/* The length check is strnlen (s, max_len + 1): with max_len = G_MAXSIZE
 * that is strnlen (s, 0) = 0, and the UTF-8 check then covers no byte. */
static void
test_max_len_huge (void)
{
  check_refused ("\xFF", G_MAXSIZE);
  g_autofree char *ok = call_jid_unescape ("bob\\40x.org", G_MAXSIZE);
  g_assert_cmpstr (ok, ==, "bob@x.org");
}

/* unescape (escape (x)) == x for valid UTF-8 made of the characters that
 * matter: every escapable one, backslashes, hex digits of both cases,
 * other letters and a two-byte character. */
static void
test_round_trip_random (void)
{
  static const char *const pieces[] = {
    " ", "\"", "&", "'", "/", ":", "<", ">", "@", "\\", "\\", "\\",
    "0", "2", "3", "4", "5", "7", "a", "c", "e", "f", "A", "C", "E", "F", "x", "\xC3\xA9",
  };
  GRand *rand = g_rand_new_with_seed (0x0106);
  for (guint round = 0; round < 20000; round++)
    {
      GString *s = g_string_new (NULL);
      guint n = g_rand_int_range (rand, 0, 12);
      for (guint i = 0; i < n; i++)
        g_string_append (s, pieces[g_rand_int_range (rand, 0, G_N_ELEMENTS (pieces))]);
      g_autofree char *e = call_jid_escape (s->str);
      g_assert_null (strpbrk (e, " \"&'/:<>@"));
      g_autofree char *u = call_jid_unescape (e, strlen (e));
      if (g_strcmp0 (u, s->str) != 0)
        g_test_message ("'%s' -> '%s' -> '%s'", s->str, e, u);
      g_assert_cmpstr (u, ==, s->str);
      g_string_free (s, TRUE);
    }
  g_rand_free (rand);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* A failing check marks its test "not ok" and the others still run. */
  g_test_set_nonfatal_assertions ();
  g_test_add_func ("/jid-escape/table", test_table);
  g_test_add_func ("/jid-escape/spec-examples", test_spec_examples);
  g_test_add_func ("/jid-escape/exceptions", test_exceptions);
  g_test_add_func ("/jid-escape/backslash", test_backslash);
  g_test_add_func ("/jid-escape/upper-case-hex", test_upper_case_hex);
  g_test_add_func ("/jid-escape/jids", test_jids);
  g_test_add_func ("/jid-escape/max-len", test_max_len);
  g_test_add_func ("/jid-escape/invalid-utf8", test_invalid_utf8);
  g_test_add_func ("/jid-escape/max-len-huge", test_max_len_huge);
  g_test_add_func ("/jid-escape/round-trip-random", test_round_trip_random);
  return g_test_run ();
}
