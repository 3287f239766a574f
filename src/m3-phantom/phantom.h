/* m3-phantom internals: options, the DICOM element list builder, UIDs, the output sink. */
#ifndef PH_PHANTOM_H
#define PH_PHANTOM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "m3/cli.h"
#include "m3/dcmwrite.h"
#include "m3/err.h"

#define PH_PI 3.14159265358979323846

enum ph_mode { PH_MAMMO, PH_CBCT };

struct ph_opts {
	enum ph_mode mode;
	uint64_t seed;
	unsigned size[3]; /* 0: the mode's default */
	double spacing; /* mm; 0: the mode's default */
	double noise; /* scale of the noise; 0 for none */
	enum m3_dcm_syntax syntax;
	int multiframe;
	int artefacts;
	unsigned jobs;
	int verbose;
	struct m3_progress *progress;
};

/* A growing list of DICOM elements whose values it owns; an allocation failure is kept
 * in oom and reported once, by ph_ds_check. */
struct ph_ds {
	struct m3_dcm_elem *el;
	size_t n, cap;
	int oom;
};

void ph_ds_init(struct ph_ds *d);
void ph_ds_release(struct ph_ds *d);
void ph_ds_add(struct ph_ds *d, unsigned long tag, const char *vr, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Sequence and item markers, and an empty (type 2) element. */
void ph_ds_mark(struct ph_ds *d, unsigned long marker);
void ph_ds_empty(struct ph_ds *d, unsigned long tag, const char *vr);
/* A code sequence item: value, scheme, meaning. */
void ph_ds_code(struct ph_ds *d, unsigned long tag, const char *value, const char *scheme,
		const char *meaning);
int ph_ds_check(const struct ph_ds *d, struct m3_err *e);

#define PH_UID_MAX 65
/* A DICOM UID under 2.25 (UUID-derived), a function of seed, kind and index only. */
void ph_uid(char uid[PH_UID_MAX], uint64_t seed, const char *kind, uint64_t index);

/* The study date and time made from the seed, and the same instant as a time_t (UTC). */
struct ph_when {
	char date[9];
	char time[7];
	time_t t;
};
void ph_when(struct ph_when *w, uint64_t seed);

/* Numbers as DICOM DS text (at most 16 characters) that read back as the value used. */
void ph_ds_num(char s[17], double v);
double ph_ds_round(double v);

/*
 * Where the files go: a directory (written as a hidden sibling and renamed into place at
 * commit, so nothing partial is left), a tar file (-o x.tar) or a tar stream on stdout.
 */
struct ph_sink {
	int tar;
	struct m3_out out;
	char *dir, *tmpdir;
	char **paths; /* files in tmpdir, for cleanup even from a signal handler */
	volatile size_t npaths;
	size_t maxfiles;
	time_t mtime;
};

/* dest NULL or "-": tar on stdout; "*.tar": a tar file; anything else: a directory that
 * must not exist or be empty.  maxfiles bounds the puts. */
int ph_sink_open(struct ph_sink *s, const char *dest, size_t maxfiles, time_t mtime,
		 struct m3_err *e);
int ph_sink_put(struct ph_sink *s, const char *name, const void *data, size_t len,
		struct m3_err *e);
int ph_sink_commit(struct ph_sink *s, struct m3_err *e);
void ph_sink_abort(struct ph_sink *s);

/* Progress from worker threads: one counter under a lock. */
struct ph_steps {
	pthread_mutex_t mu;
	struct m3_progress *p;
	const char *what;
	size_t done, total;
};
void ph_steps_init(struct ph_steps *s, struct m3_progress *p, const char *what, size_t total);
void ph_steps_tick(struct ph_steps *s);
void ph_steps_release(struct ph_steps *s);

int ph_mammo(const struct ph_opts *o, struct ph_sink *s, struct m3_err *e);
int ph_cbct(const struct ph_opts *o, struct ph_sink *s, struct m3_err *e);

#endif
