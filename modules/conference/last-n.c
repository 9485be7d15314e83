/* conference — last-N selection (last-n.h). */
#include "last-n.h"

/* @a ranks before @b: spoke later, or as late and joined earlier. */
static gboolean
before (const CfLastNEntry *a, const CfLastNEntry *b)
{
  if (a->last_spoke != b->last_spoke)
    return a->last_spoke > b->last_spoke;
  return a->order < b->order;
}

void
cf_last_n_select (CfLastNEntry *e, guint len, guint n)
{
  /* An entry is selected when fewer than @n rank before it: O(len²), for
   * rooms of at most a few hundred senders, run on a tick only when the
   * talkers change. */
  for (guint i = 0; i < len; i++)
    {
      guint ahead = 0;
      for (guint k = 0; k < len && ahead < n; k++)
        if (k != i && before (&e[k], &e[i]))
          ahead++;
      e[i].selected = ahead < n;
    }
}
