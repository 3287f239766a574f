/* volgen: test helper that writes volumes of a given type and size with reproducible data. */
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "m3/cli.h"
#include "m3/vol.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: volgen [-r] [-n count] [-s seed] [-z level] -t type SIZE...\n");
}

/* xorshift64*: the same bytes on every machine for a seed */
static uint64_t
next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static void
fill(struct m3_vol *v, size_t nbytes, uint64_t seed)
{
	unsigned char *p = v->data;
	size_t es = m3_type_size(v->type);

	for (size_t i = 0; i < nbytes; i += es) {
		uint64_t x = next(&seed);
		if (v->type == M3_FLOAT) {
			float f = (float)((int64_t)(x >> 40) - (1 << 23)) / 64.0f;
			memcpy(p + i, &f, 4);
		} else
			memcpy(p + i, &x, es);
	}
}

int
main(int argc, char *argv[])
{
	struct m3_vol_writer *w;
	struct m3_vol v;
	struct m3_err e;
	enum m3_type t = M3_TNONE;
	long count = 1, seed = 1, level = -1;
	int c, rgb = 0;
	size_t nbytes;

	m3_cli_init(argv[0]);
	m3_err_init(&e);
	m3_vol_init(&v);
	while ((c = getopt_long(argc, argv, "hn:rs:t:z:", NULL, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (m3_parse_long("-n", optarg, 1, 1000, &count, &e) != M3_OK)
				return m3_report(&e);
			break;
		case 'r':
			rgb = 1;
			break;
		case 's':
			if (m3_parse_long("-s", optarg, 1, 1L << 30, &seed, &e) != M3_OK)
				return m3_report(&e);
			break;
		case 't':
			t = m3_type_parse(optarg);
			break;
		case 'z':
			if (m3_parse_long("-z", optarg, 0, 9, &level, &e) != M3_OK)
				return m3_report(&e);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (t == M3_TNONE || argc < 2 || argc + rgb > M3_VOL_MAXDIM) {
		usage(stderr);
		return 2;
	}
	v.type = t;
	v.rgb = rgb;
	v.dim = (unsigned)argc + (unsigned)rgb;
	if (rgb)
		v.sizes[0] = 3;
	for (int i = 0; i < argc; i++) {
		long s;
		if (m3_parse_long("SIZE", argv[i], 1, 1L << 20, &s, &e) != M3_OK)
			return m3_report(&e);
		v.sizes[i + rgb] = (size_t)s;
		v.dirs[i + rgb][i] = 0.25 * (i + 1);
	}
	v.has_space = v.has_origin = 1;
	v.origin[0] = -10.5;
	v.origin[1] = 20;
	v.origin[2] = 0.125;
	if (m3_vol_set(&v, "m3-modality", "CT", &e) != M3_OK ||
	    m3_vol_set(&v, "m3-note", "two\nlines \\ back", &e) != M3_OK ||
	    m3_vol_nbytes(&v, &nbytes, &e) != M3_OK || m3_vol_alloc(&v, &e) != M3_OK)
		return m3_report(&e);
	if ((w = m3_vol_writer_new(stdout, "-", (int)level)) == NULL)
		return 1;
	for (long i = 0; i < count; i++) {
		fill(&v, nbytes, (uint64_t)seed + (uint64_t)i * 7919);
		if (m3_vol_write(w, &v, &e) != M3_OK)
			return m3_report(&e);
	}
	m3_vol_writer_free(w);
	m3_vol_release(&v);
	if (m3_stdout_close(&e) != M3_OK)
		return m3_report(&e);
	return 0;
}
