/* The DICOM element list builder, UIDs and dates made from the seed, progress from threads. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "phantom.h"
#include "rng.h"

void
ph_ds_init(struct ph_ds *d)
{
	memset(d, 0, sizeof(*d));
}

void
ph_ds_release(struct ph_ds *d)
{
	for (size_t i = 0; i < d->n; i++)
		free((char *)d->el[i].value);
	free(d->el);
	memset(d, 0, sizeof(*d));
}

static void
push(struct ph_ds *d, unsigned long tag, const char *vr, char *value)
{
	if (d->oom || (d->n == d->cap && d->cap > SIZE_MAX / 2 / sizeof(*d->el))) {
		d->oom = 1;
		free(value);
		return;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 64;
		struct m3_dcm_elem *el = realloc(d->el, cap * sizeof(*el));
		if (el == NULL) {
			d->oom = 1;
			free(value);
			return;
		}
		d->el = el;
		d->cap = cap;
	}
	d->el[d->n].tag = tag;
	d->el[d->n].vr = vr;
	d->el[d->n].value = value;
	d->n++;
}

void
ph_ds_add(struct ph_ds *d, unsigned long tag, const char *vr, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL) {
		d->oom = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	push(d, tag, vr, s);
}

void
ph_ds_mark(struct ph_ds *d, unsigned long marker)
{
	push(d, marker, NULL, NULL);
}

void
ph_ds_empty(struct ph_ds *d, unsigned long tag, const char *vr)
{
	if (strcmp(vr, "SQ") == 0) {
		push(d, tag, vr, NULL);
		push(d, M3_DCM_SEQ_END, NULL, NULL);
	} else {
		push(d, tag, vr, NULL);
	}
}

void
ph_ds_code(struct ph_ds *d, unsigned long tag, const char *value, const char *scheme,
	   const char *meaning)
{
	push(d, tag, "SQ", NULL);
	ph_ds_mark(d, M3_DCM_ITEM);
	ph_ds_add(d, 0x00080100UL, "SH", "%s", value);
	ph_ds_add(d, 0x00080102UL, "SH", "%s", scheme);
	ph_ds_add(d, 0x00080104UL, "LO", "%s", meaning);
	ph_ds_mark(d, M3_DCM_ITEM_END);
	ph_ds_mark(d, M3_DCM_SEQ_END);
}

int
ph_ds_check(const struct ph_ds *d, struct m3_err *e)
{
	return d->oom ? m3_err_set(e, M3_ENOMEM, "out of memory") : M3_OK;
}

static uint64_t
fnv(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

void
ph_uid(char uid[PH_UID_MAX], uint64_t seed, const char *kind, uint64_t index)
{
	uint64_t hi = ph_hash(ph_hash(seed, fnv(kind)), index);
	uint64_t lo = ph_hash(hi, 0x5555);
	uint32_t limb[4];
	char digits[48];
	size_t nd = 0;

	/* a random (version 4, variant 1) UUID, as PS3.5 B.2 allows under 2.25 */
	hi = (hi & ~0xf000ULL) | 0x4000ULL;
	lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
	limb[0] = (uint32_t)(hi >> 32);
	limb[1] = (uint32_t)hi;
	limb[2] = (uint32_t)(lo >> 32);
	limb[3] = (uint32_t)lo;
	while (limb[0] | limb[1] | limb[2] | limb[3]) {
		uint64_t rem = 0;
		for (int i = 0; i < 4; i++) {
			uint64_t cur = (rem << 32) | limb[i];
			limb[i] = (uint32_t)(cur / 10);
			rem = cur % 10;
		}
		digits[nd++] = (char)('0' + rem);
	}
	memcpy(uid, "2.25.", 5);
	for (size_t i = 0; i < nd; i++)
		uid[5 + i] = digits[nd - 1 - i];
	uid[5 + nd] = '\0';
}

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm). */
static void
civil(long z, int *y, int *m, int *d)
{
	long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

void
ph_when(struct ph_when *w, uint64_t seed)
{
	uint64_t h = ph_hash(seed, fnv("when"));
	long day = 18262 + (long)(h % 1461); /* 2020-01-01 and the four years after */
	long sec = 8 * 3600 + (long)((h >> 20) % (9 * 3600));
	char s[48];
	int y, m, d;

	civil(day, &y, &m, &d);
	snprintf(s, sizeof(s), "%04d%02d%02d", y, m, d);
	memcpy(w->date, s, sizeof(w->date) - 1);
	w->date[sizeof(w->date) - 1] = '\0';
	snprintf(s, sizeof(s), "%02ld%02ld%02ld", sec / 3600, sec / 60 % 60, sec % 60);
	memcpy(w->time, s, sizeof(w->time) - 1);
	w->time[sizeof(w->time) - 1] = '\0';
	w->t = (time_t)(day * 86400L + sec);
}

void
ph_ds_num(char s[17], double v)
{
	for (int prec = 10; prec > 1; prec--)
		if (snprintf(s, 17, "%.*g", prec, v) < 17)
			return;
	snprintf(s, 17, "0");
}

double
ph_ds_round(double v)
{
	char s[17];

	ph_ds_num(s, v);
	return strtod(s, NULL);
}

void
ph_steps_init(struct ph_steps *s, struct m3_progress *p, const char *what, size_t total)
{
	pthread_mutex_init(&s->mu, NULL);
	s->p = p;
	s->what = what;
	s->done = 0;
	s->total = total;
}

void
ph_steps_tick(struct ph_steps *s)
{
	pthread_mutex_lock(&s->mu);
	s->done++;
	if (s->p != NULL)
		m3_progress(s->p, "%s %zu/%zu", s->what, s->done, s->total);
	pthread_mutex_unlock(&s->mu);
}

void
ph_steps_release(struct ph_steps *s)
{
	pthread_mutex_destroy(&s->mu);
}
