/* cmd_schema.c - `sluice schema`: what the loaded schemas hold: tables and
 * structs with their fields and types, enums and unions, and the event type
 * -> payload table mapping. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void schema_usage(FILE *f)
{
    fputs("usage: sluice schema [--schema NAME|FILE.bfbs]... [TABLE]\n\n"
          "Lists every table, struct, enum and event type of the loaded schemas (default:\n"
          "every embedded schema), or the fields of one TABLE.\n", f);
}

/* "string", "[LineItem]", "Region", "[int:3]" ... */
static void type_name(const struct sl_fb_schema *schema, const struct sl_fb_type *type,
                      char *out, size_t len)
{
    unsigned base = type->base;
    unsigned inner = base == SL_FB_VECTOR || base == SL_FB_ARRAY ? type->element : base;
    const char *name = sl_fb_base_name(inner);
    if (inner == SL_FB_OBJ)
        name = sl_fb_schema_object(schema, type->index)->short_name;
    else if (type->index >= 0 && sl_fb_schema_enum(schema, type->index))
        name = sl_fb_schema_enum(schema, type->index)->short_name;
    if (base == SL_FB_VECTOR)
        snprintf(out, len, "[%s]", name);
    else if (base == SL_FB_ARRAY)
        snprintf(out, len, "[%s:%u]", name, type->fixed_length);
    else
        snprintf(out, len, "%s", name);
}

static void print_object(const struct sl_fb_object *object)
{
    printf("%s %s", object->is_struct ? "struct" : "table", object->name);
    if (object->event_type)
        printf("  (event: \"%s\")", object->event_type);
    printf("\n");
    for (uint32_t i = 0; i < object->field_count; i++) {
        const struct sl_fb_field *field = object->by_id[i];
        char type[128];
        type_name(object->schema, &field->type, type, sizeof(type));
        printf("  %-20s %-16s", field->name, type);
        if (!object->is_struct)
            printf(" id %-3u", field->id);
        if (sl_fb_base_is_float(field->type.base) && field->default_real != 0)
            printf(" = %g", field->default_real);
        else if (sl_fb_base_is_scalar(field->type.base) && field->default_integer != 0)
            printf(" = %" PRId64, field->default_integer);
        if (field->required)
            printf(" (required)");
        if (field->deprecated)
            printf(" (deprecated)");
        if (field->optional && sl_fb_base_is_scalar(field->type.base))
            printf(" (optional)");
        if (field->nested == SL_FB_NESTED_TABLE)
            printf(" (nested %s)", field->nested_object->name);
        if (field->nested == SL_FB_NESTED_BY_TYPE)
            printf(" (nested: the table of the event type)");
        printf("\n");
    }
}

static void print_enum(const struct sl_fb_enum *e)
{
    printf("%s %s : %s%s\n ", e->is_union ? "union" : "enum", e->name,
           sl_fb_base_name(e->underlying), e->bit_flags ? " (bit_flags)" : "");
    for (uint32_t i = 0; i < e->val_count; i++)
        printf(" %s = %" PRId64, e->vals[i].name, e->vals[i].value);
    printf("\n");
}

int sl_cmd_schema(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"schema", required_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct sl_cli_schema_opts opts = {0};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (opts.schema_arg_count == 16) {
                fputs("sluice schema: at most 16 --schema options\n", stderr);
                return SL_EXIT_USAGE;
            }
            opts.schema_args[opts.schema_arg_count++] = optarg;
            break;
        case 'h': schema_usage(stdout); return SL_EXIT_OK;
        default: schema_usage(stderr); return SL_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        schema_usage(stderr);
        return SL_EXIT_USAGE;
    }
    opts.type = optind < argc ? argv[optind] : NULL;
    struct sl_fb_schemas schemas;
    const struct sl_fb_object *object;
    int rc = sl_cli_load_schemas(&schemas, &opts, &object);
    if (rc)
        return rc;
    if (opts.type) {
        print_object(object);
    } else {
        for (uint32_t s = 0; s < schemas.count; s++) {
            const struct sl_fb_schema *schema = schemas.items[s];
            printf("# schema %s%s%s\n", schema->name, schema->root ? ", root_type " : "",
                   schema->root ? schema->root->name : "");
            for (uint32_t i = 0; i < schema->enum_count; i++)
                print_enum(&schema->enums[i]);
            for (uint32_t i = 0; i < schema->object_count; i++)
                print_object(&schema->objects[i]);
            printf("\n");
        }
        printf("# event types\n");
        for (uint32_t i = 0; i < schemas.type_count; i++)
            printf("  %-28s -> %s\n", schemas.types[i].type, schemas.types[i].object->name);
    }
    sl_fb_schemas_fini(&schemas);
    return SL_EXIT_OK;
}
