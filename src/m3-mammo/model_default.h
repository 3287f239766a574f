/* Placeholder until tests/mammo/train.py writes the trained model. */
#define MM_DEFAULT_NAME "bootstrap"
#define MM_DEFAULT_KIND MM_LOGISTIC
#define MM_DEFAULT_BIAS -2.0f
#define MM_DEFAULT_INIT 0.0f
#define MM_DEFAULT_RATE 0.0f
static const float mm_default_mean[MM_NFEAT] = {0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
static const float mm_default_scale[MM_NFEAT] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
static const float mm_default_w[MM_NFEAT] = {0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
static const struct mm_node mm_default_nodes[] = {{-1, 0, 0, 0, 0}};
static const int mm_default_roots[] = {0};
