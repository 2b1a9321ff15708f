/* settings.h -- settings files (JSON or YAML) read into cJSON trees, and the registry scan. */
#ifndef DCMP_SETTINGS_H
#define DCMP_SETTINGS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <sys/stat.h>

#include "log.h"
#include "plan.h"

#define DCMP_SETTINGS_MAX          (1024 * 1024) /* bytes of one settings text */
#define DCMP_SETTINGS_MAX_DEPTH    64            /* nested objects/arrays, the root counting 1 */
#define DCMP_SETTINGS_MAX_NODES    100000        /* values (containers and scalars) in one text */
#define DCMP_SETTINGS_MAX_SERVICES 1024          /* registry folders holding a settings file */

/*
 * Parses one settings text into a cJSON tree. With yaml 0 the text is JSON;
 * with yaml 1 it is YAML (one document, block or flow style) read with the
 * YAML 1.2 core schema: a plain scalar is null (null Null NULL ~ or empty),
 * a bool (true True TRUE false False FALSE), an int (decimal, 0x.., 0o..), a
 * float, or else a string; quoted and block scalars are always strings.
 * Aliases, tags other than !!str/!!map/!!seq, .inf/.nan, several documents
 * and non-scalar keys are errors. In both forms a key given twice keeps its
 * first position and its last value, as Python's json and yaml modules do.
 * The root must be an object or an array. Caps: DCMP_SETTINGS_MAX bytes,
 * DCMP_SETTINGS_MAX_DEPTH levels, DCMP_SETTINGS_MAX_NODES values; NUL bytes
 * are refused. `origin` names the text in every message
 * ("registry/foo/settings.yaml:12:3: ..."; line and column 1-based). Pure.
 * Returns 0 with *out a new tree (free with cJSON_Delete), or -1 with *out
 * NULL and the reason in err[DCMP_ERR_LEN].
 */
int dcmp_settings_parse(const char *text, size_t len, const char *origin, int yaml, cJSON **out,
                        char *err);

/* The names a service's settings file may have, in the order they are looked for. */
#define DCMP_SETTINGS_NAMES 3
extern const char *const dcmp_settings_names[DCMP_SETTINGS_NAMES];

/*
 * Reads the regular file at path whole (at most DCMP_SETTINGS_MAX bytes). Returns 0 with *text
 * (new, NUL-terminated: free it), *len and *st (the fstat of the file read, taken before its
 * bytes), or -1 with err naming path (missing, not a regular file, too large, changed while
 * being read).
 */
int dcmp_settings_read(const char *path, char **text, size_t *len, struct stat *st, char *err);

/* True when path names a YAML file (it ends in .yaml or .yml, any case). */
int dcmp_settings_is_yaml(const char *path);

/*
 * Reads the regular file at path (at most DCMP_SETTINGS_MAX bytes, no NUL
 * bytes) and parses it with dcmp_settings_parse, as YAML when the name ends
 * in .yaml or .yml (any case), else as JSON; messages name path. Returns 0
 * with *out a new tree (free with cJSON_Delete), or -1 with *out NULL and err.
 */
int dcmp_settings_load(const char *path, cJSON **out, char *err);

/* The settings files of a registry, ready for dcmp_plan_input.registry/nregistry. */
typedef struct dcmp_settings_files {
    dcmp_plan_file *files; /* n entries sorted by folder name; everything they point to is
                            * owned by the registry, free with dcmp_settings_registry_free */
    char **names;          /* n folder (service) names, owned, same order */
    int n;
} dcmp_settings_files;

/*
 * Scans registry_dir: every direct subfolder not starting with '.', in strcmp
 * order of its name, that holds settings.json, else settings.yaml, else
 * settings.yml (the first found in that order is used, the others ignored)
 * gives one file; folders without any are skipped. A file that cannot be
 * loaded gets root NULL and load_error its message (which names the file and,
 * for syntax errors, the line and column), so the planner skips only it.
 * Fills *reg (free with dcmp_settings_registry_free, also after failure).
 * Returns 0, or -1 with err naming registry_dir when it cannot be read, when
 * it holds more than DCMP_SETTINGS_MAX_SERVICES services, or on out of memory.
 */
int dcmp_settings_registry(const char *registry_dir, dcmp_settings_files *reg, char *err);

/* Frees everything reg holds and empties it; it may be reused after. */
void dcmp_settings_registry_free(dcmp_settings_files *reg);

#endif
