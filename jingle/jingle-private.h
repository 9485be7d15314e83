/* Helpers shared by the files of jingle/ (not installed, not for modules). */
#pragma once

#include "jingle.h"

G_BEGIN_DECLS

void bf_jingle_parameter_free (BfJingleParameter *p);
void bf_jingle_rtcp_fb_free (BfJingleRtcpFb *fb);
void bf_jingle_payload_type_free (BfJinglePayloadType *pt);
void bf_jingle_hdrext_free (BfJingleHdrext *h);
void bf_jingle_source_free (BfJingleSource *s);
void bf_jingle_ssrc_group_free (BfJingleSsrcGroup *g);
void bf_jingle_crypto_free (BfJingleCrypto *c);
void bf_jingle_fingerprint_free (BfJingleFingerprint *f);
void bf_jingle_reason_free (BfJingleReason *r);
void bf_jingle_group_free (BfJingleGroup *g);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfJingleReason, bf_jingle_reason_free)

gboolean bf_jingle_reason_equal (const BfJingleReason *a, const BfJingleReason *b);

/* Sets a BF_JINGLE_ERROR_BAD_REQUEST error and returns FALSE. */
gboolean bf_jingle_bad_request (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* An attribute's value, or NULL; refused when longer than @max bytes. */
gboolean bf_jingle_attr_string (const BfStanza *el, const char *attr, gsize max,
                                const char **out, GError **error);
/* An unsigned decimal in [min, max] (surrounding whitespace allowed, as in
 * XML Schema numbers).  Returns FALSE with @error when present but invalid;
 * *@present tells whether the attribute was there. */
gboolean bf_jingle_attr_uint (const BfStanza *el, const char *attr, guint64 min, guint64 max,
                              guint64 *out, gboolean *present, GError **error);
gboolean bf_jingle_parse_uint (const char *s, guint64 min, guint64 max, guint64 *out);

/* XEP-0166 §7.4 <reason/>: parses @el (a <reason/> element). */
BfJingleReason *bf_jingle_reason_parse (const BfStanza *el, GError **error);
/* Appends <reason xmlns=@ns_or_null/> to @parent. */
void bf_jingle_reason_build (BfStanza *parent, const BfJingleReason *reason, const char *ns);

G_END_DECLS
