/*
 * orders_gen.c - the order-domain event generator of orders_gen.h.
 *
 * Simulation: orders arrive about once per millisecond of event time (uniform
 * gaps of 0..2 ms); each order is a small state machine whose state is the
 * type of its next event. Orders wait in a min-heap keyed by the event time
 * of their next step, so events come out in event-time order. At most
 * in_flight_max orders live at once; when the table is full, arrivals wait
 * for an order to finish (event time never goes backwards).
 *
 * An order's life (probabilities per step; delays are event time):
 *   order.placed -> inventory.reserve -> reserved 96% | reserve_failed
 *   reserved -> payment.charge -> charged (90% first try, 60% retries) | charge_failed
 *   charge_failed: retryable and attempt < 3 -> payment.charge again after 1-5 s,
 *                  else inventory.release -> ... -> order.cancelled
 *   charged -> order.paid -> shipment.create -> created 97% | create_failed
 *   created -> order.shipped 98% | shipment.cancel (customer) -> cancelled 85% | cancel_failed
 *   cancel_failed -> order.shipped
 *   shipment cancelled / create_failed -> payment.refund -> refunded 98% | refund_failed
 *     -> inventory.release -> released 99% | release_failed -> order.cancelled
 *   reserve_failed -> order.cancelled (out_of_stock)
 *
 * Customers: a key index k in [0, keys) is customer "customer-<k+1>"; name,
 * city, region, currency and address follow from (seed, k) alone, so one
 * customer always has one address. Ids: orders "order-<tag>-<n>" (tag: four
 * base32 characters of the seed, n counting from 1), payments "pay-",
 * reservations "res-", shipments "ship-", refunds "rfd-" with the same
 * suffix; event ids are ULIDs (48-bit ms timestamp + 80 random bits).
 *
 * Randomness: xoshiro256** seeded through splitmix64. Every draw happens in
 * the simulation step, before (and whether or not) the event is built, so a
 * type filter never changes the events that pass it.
 */
#include "gen/orders_gen.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "scalars are handed to the builder in host order, which must be little-endian");

#define GEN_ARRIVAL_GAP_US_MAX 2000 /* uniform 0..2 ms between orders */
#define GEN_ITEMS_MAX 5
#define GEN_ATTEMPTS_MAX 3
#define GEN_NAME_MAX 64             /* formatted ids and keys */
#define GEN_MS_US 1000
#define GEN_S_US 1000000
#define GEN_DAY_US 86400000000LL

/* ---- random numbers ---- */

struct gen_rng {
    uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void rng_seed(struct gen_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoshiro256** */
static uint64_t rng_next(struct gen_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* Uniform in [0, n) (multiply-shift; bias below 2^-32 for our n). */
static uint32_t rng_below(struct gen_rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static int64_t rng_range(struct gen_rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)rng_below(r, (uint32_t)(hi - lo + 1));
}

static bool rng_per_mille(struct gen_rng *r, uint32_t per_mille)
{
    return rng_below(r, 1000) < per_mille;
}

/* Index drawn with weights that sum to 100. */
static unsigned rng_weighted(struct gen_rng *r, const uint8_t *weights, unsigned n)
{
    uint32_t x = rng_below(r, 100);
    for (unsigned i = 0; i < n; i++) {
        if (x < weights[i])
            return i;
        x -= weights[i];
    }
    return n - 1;
}

/* ---- the domain's vocabulary ---- */

static const char *const type_names[SL_GEN_TYPE_COUNT] = {
    [SL_GEN_ORDER_PLACED] = "order.placed",
    [SL_GEN_ORDER_PAID] = "order.paid",
    [SL_GEN_ORDER_SHIPPED] = "order.shipped",
    [SL_GEN_ORDER_CANCELLED] = "order.cancelled",
    [SL_GEN_INVENTORY_RESERVE] = "inventory.reserve",
    [SL_GEN_INVENTORY_RESERVED] = "inventory.reserved",
    [SL_GEN_INVENTORY_RESERVE_FAILED] = "inventory.reserve_failed",
    [SL_GEN_INVENTORY_RELEASE] = "inventory.release",
    [SL_GEN_INVENTORY_RELEASED] = "inventory.released",
    [SL_GEN_INVENTORY_RELEASE_FAILED] = "inventory.release_failed",
    [SL_GEN_PAYMENT_CHARGE] = "payment.charge",
    [SL_GEN_PAYMENT_CHARGED] = "payment.charged",
    [SL_GEN_PAYMENT_CHARGE_FAILED] = "payment.charge_failed",
    [SL_GEN_PAYMENT_REFUND] = "payment.refund",
    [SL_GEN_PAYMENT_REFUNDED] = "payment.refunded",
    [SL_GEN_PAYMENT_REFUND_FAILED] = "payment.refund_failed",
    [SL_GEN_SHIPMENT_CREATE] = "shipment.create",
    [SL_GEN_SHIPMENT_CREATED] = "shipment.created",
    [SL_GEN_SHIPMENT_CREATE_FAILED] = "shipment.create_failed",
    [SL_GEN_SHIPMENT_CANCEL] = "shipment.cancel",
    [SL_GEN_SHIPMENT_CANCELLED] = "shipment.cancelled",
    [SL_GEN_SHIPMENT_CANCEL_FAILED] = "shipment.cancel_failed",
};

/* The `source` header: who emits each type (order.placed: by channel). */
static const char *const type_sources[SL_GEN_TYPE_COUNT] = {
    [SL_GEN_ORDER_PAID] = "order-saga",
    [SL_GEN_ORDER_SHIPPED] = "order-saga",
    [SL_GEN_ORDER_CANCELLED] = "order-saga",
    [SL_GEN_INVENTORY_RESERVE] = "order-saga",
    [SL_GEN_INVENTORY_RESERVED] = "inventory-service",
    [SL_GEN_INVENTORY_RESERVE_FAILED] = "inventory-service",
    [SL_GEN_INVENTORY_RELEASE] = "order-saga",
    [SL_GEN_INVENTORY_RELEASED] = "inventory-service",
    [SL_GEN_INVENTORY_RELEASE_FAILED] = "inventory-service",
    [SL_GEN_PAYMENT_CHARGE] = "order-saga",
    [SL_GEN_PAYMENT_CHARGED] = "payment-service",
    [SL_GEN_PAYMENT_CHARGE_FAILED] = "payment-service",
    [SL_GEN_PAYMENT_REFUND] = "order-saga",
    [SL_GEN_PAYMENT_REFUNDED] = "payment-service",
    [SL_GEN_PAYMENT_REFUND_FAILED] = "payment-service",
    [SL_GEN_SHIPMENT_CREATE] = "order-saga",
    [SL_GEN_SHIPMENT_CREATED] = "shipping-service",
    [SL_GEN_SHIPMENT_CREATE_FAILED] = "shipping-service",
    [SL_GEN_SHIPMENT_CANCEL] = "order-saga",
    [SL_GEN_SHIPMENT_CANCELLED] = "shipping-service",
    [SL_GEN_SHIPMENT_CANCEL_FAILED] = "shipping-service",
};

/* Enum members by name, resolved to the schema's numbers at create. */
enum gen_region { R_EU, R_US, R_APAC, R_LATAM, R_COUNT };
enum gen_channel { CH_WEB, CH_MOBILE, CH_STORE, CH_PARTNER, CH_COUNT };
enum gen_currency { CUR_EUR, CUR_USD, CUR_GBP, CUR_JPY, CUR_CHF, CUR_COUNT };
enum gen_reason { CR_CUSTOMER, CR_PAYMENT, CR_STOCK, CR_FRAUD, CR_TIMEOUT, CR_COUNT };
enum gen_code {
    FC_UNKNOWN, FC_STOCK, FC_DECLINED, FC_FUNDS, FC_ADDRESS, FC_CARRIER, FC_SHIPPED,
    FC_NOT_FOUND, FC_COUNT
};

static const char *const region_names[R_COUNT] = {"eu", "us", "apac", "latam"};
static const char *const channel_names[CH_COUNT] = {"web", "mobile", "store", "partner"};
static const char *const currency_names[CUR_COUNT] = {"EUR", "USD", "GBP", "JPY", "CHF"};
static const char *const reason_names[CR_COUNT] = {
    "customer_request", "payment_failed", "out_of_stock", "fraud_suspected", "timeout"};
static const char *const code_names[FC_COUNT] = {
    "unknown", "insufficient_stock", "card_declined", "insufficient_funds",
    "address_invalid", "carrier_unavailable", "already_shipped", "not_found"};

static const char *const reason_notes[CR_COUNT] = {
    "cancelled at the customer's request", "payment could not be collected",
    "an item is out of stock", "order held by the risk check",
    "order could not be fulfilled in time"};

static const char *const channel_sources[CH_COUNT] = {"web-checkout", "mobile-app", "store-pos",
                                                      "partner-api"};
static const uint8_t region_weights[R_COUNT] = {35, 35, 20, 10};
static const uint8_t channel_weights[CH_COUNT] = {50, 35, 8, 7};
static const uint8_t item_count_weights[GEN_ITEMS_MAX] = {45, 25, 15, 10, 5};
static const uint8_t quantity_weights[3] = {75, 18, 7};

/* A product: SKU and list price in US cents. */
struct gen_product {
    const char *sku;
    uint32_t price_cents;
};

static const struct gen_product catalogue[] = {
    {"BOOK-001", 1999},      {"BOOK-014", 2450},       {"PEN-007", 399},
    {"NOTE-A5", 899},        {"MUG-CLASSIC", 1299},    {"TSHIRT-M-BLK", 1999},
    {"TSHIRT-L-WHT", 1999},  {"HOODIE-M-GRY", 4999},   {"CAP-NVY", 1799},
    {"SOCKS-3PK", 1299},     {"SNEAKER-42", 8999},     {"BACKPACK-20L", 5999},
    {"BOTTLE-750", 2299},    {"LAMP-DESK", 3499},      {"CHAIR-ERGO", 24900},
    {"DESK-120", 39900},     {"MONITOR-27", 32900},    {"KEYBOARD-MX", 10999},
    {"MOUSE-WL", 3999},      {"HEADSET-BT", 14999},    {"CABLE-USBC-1M", 1299},
    {"CHARGER-65W", 4499},   {"PHONE-CASE", 1999},     {"TABLET-11", 49900},
    {"LAPTOP-13", 129900},   {"LAPTOP-15", 169900},    {"CAMERA-MIRR", 89900},
    {"LENS-50MM", 24900},    {"TRIPOD-AL", 5999},      {"SPEAKER-SM", 7999},
    {"COFFEE-1KG", 2499},    {"TEA-GREEN", 899},       {"KETTLE-EL", 3999},
    {"PAN-28CM", 4599},      {"KNIFE-CHEF", 6999},     {"PLANT-POT-M", 1599},
    {"CANDLE-SOY", 1499},    {"PUZZLE-1000", 2199},    {"BOARDGAME-X", 3999},
    {"YOGA-MAT", 2999},
};
#define GEN_CATALOGUE_LEN (sizeof(catalogue) / sizeof(catalogue[0]))

/* A city: postal code pattern ('#' digit, '@' letter), currency, streets. */
struct gen_city {
    const char *city, *country, *postal;
    uint8_t currency;  /* enum gen_currency */
    const char *streets[3];
};

struct gen_region_info {
    const struct gen_city *cities;
    unsigned city_count;
    const char *warehouses[2];
    const char *carriers[3];
};

static const struct gen_city eu_cities[] = {
    {"London", "GB", "SW# #@@", CUR_GBP, {"High Street", "King's Road", "Baker Street"}},
    {"Manchester", "GB", "M## #@@", CUR_GBP, {"Deansgate", "Oxford Road", "Market Street"}},
    {"Berlin", "DE", "10###", CUR_EUR, {"Hauptstraße", "Torstraße", "Kastanienallee"}},
    {"München", "DE", "80###", CUR_EUR, {"Leopoldstraße", "Sendlinger Straße", "Maximilianstraße"}},
    {"Paris", "FR", "750##", CUR_EUR, {"Rue de la Paix", "Rue de Rivoli", "Boulevard Voltaire"}},
    {"Lyon", "FR", "690##", CUR_EUR, {"Rue de la République", "Cours Lafayette", "Quai Perrache"}},
    {"Amsterdam", "NL", "10## @@", CUR_EUR, {"Prinsengracht", "Kalverstraat", "Damrak"}},
    {"Madrid", "ES", "280##", CUR_EUR, {"Calle Mayor", "Gran Vía", "Calle de Alcalá"}},
    {"Milano", "IT", "201##", CUR_EUR, {"Via Roma", "Corso Buenos Aires", "Via Torino"}},
    {"Zürich", "CH", "80##", CUR_CHF, {"Bahnhofstrasse", "Langstrasse", "Seefeldstrasse"}},
    {"Wien", "AT", "1###", CUR_EUR, {"Mariahilfer Straße", "Kärntner Straße", "Praterstraße"}},
    {"Dublin", "IE", "D0# @#@#", CUR_EUR, {"Grafton Street", "Dame Street", "Capel Street"}},
};
static const struct gen_city us_cities[] = {
    {"New York", "US", "100##", CUR_USD, {"Broadway", "Park Avenue", "Bleecker Street"}},
    {"San Francisco", "US", "941##", CUR_USD, {"Market Street", "Valencia Street", "Geary Blvd"}},
    {"Austin", "US", "787##", CUR_USD, {"Congress Avenue", "South Lamar Blvd", "6th Street"}},
    {"Seattle", "US", "981##", CUR_USD, {"Pike Street", "Aurora Avenue N", "Rainier Avenue S"}},
    {"Chicago", "US", "606##", CUR_USD, {"Michigan Avenue", "State Street", "Halsted Street"}},
    {"Boston", "US", "021##", CUR_USD, {"Boylston Street", "Newbury Street", "Beacon Street"}},
};
static const struct gen_city apac_cities[] = {
    {"Tokyo", "JP", "1##-####", CUR_JPY, {"Chuo-dori", "Omotesando", "Meiji-dori"}},
    {"Osaka", "JP", "5##-####", CUR_JPY, {"Midosuji", "Sakaisuji", "Tanimachi-suji"}},
    {"Singapore", "SG", "######", CUR_USD, {"Orchard Road", "Bencoolen Street", "Jalan Besar"}},
    {"Sydney", "AU", "2###", CUR_USD, {"George Street", "Oxford Street", "King Street"}},
    {"Seoul", "KR", "0####", CUR_USD, {"Sejong-daero", "Teheran-ro", "Gangnam-daero"}},
};
static const struct gen_city latam_cities[] = {
    {"São Paulo", "BR", "0####-###", CUR_USD,
     {"Avenida Paulista", "Rua Augusta", "Rua Oscar Freire"}},
    {"Ciudad de México", "MX", "0####", CUR_USD,
     {"Paseo de la Reforma", "Avenida Insurgentes", "Calle Madero"}},
    {"Buenos Aires", "AR", "C####@@@", CUR_USD,
     {"Avenida Corrientes", "Calle Florida", "Avenida Santa Fe"}},
    {"Bogotá", "CO", "11####", CUR_USD, {"Carrera Séptima", "Calle 72", "Avenida Jiménez"}},
    {"Santiago", "CL", "83#####", CUR_USD,
     {"Avenida Providencia", "Calle Huérfanos", "Avenida Apoquindo"}},
};

static const struct gen_region_info regions[R_COUNT] = {
    [R_EU] = {eu_cities, 12, {"FRA-1", "AMS-2"}, {"DHL", "DPD", "GLS"}},
    [R_US] = {us_cities, 6, {"NJ-1", "NV-3"}, {"UPS", "FedEx", "USPS"}},
    [R_APAC] = {apac_cities, 5, {"SIN-1", "TYO-2"}, {"Yamato", "SF Express", "DHL"}},
    [R_LATAM] = {latam_cities, 5, {"GRU-1", "MEX-1"}, {"Correios", "Estafeta", "DHL"}},
};

static const char *const first_names[] = {
    "Ada", "Grace", "Alan", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances",
    "Edsger", "Radia", "Donald", "Zoë", "José", "Hiro", "Mei", "Amara", "Lars", "Ana",
    "Chidi", "Priya", "Søren", "Lucía", "Kwame"};
static const char *const last_names[] = {
    "Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
    "Allen", "Dijkstra", "Perlman", "Knuth", "Müller", "García", "Tanaka", "Chen", "Okafor",
    "Nilsson", "Silva", "Eze", "Sharma", "Kierkegaard", "Fernández", "Mensah"};
static const char *const tag_names[] = {"gift", "first-order", "bulk", "fragile",
                                        "subscription", "promo", "b2b", "preorder"};
static const char *const coupons[] = {"WELCOME10", "SPRING24", "FREESHIP", "VIP15",
                                      "BLACKFRIDAY"};
#define GEN_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A failure reply: its code, whether a retry may help, its message, and the
 * cancel reason it leads to. */
struct gen_failure {
    uint8_t code;    /* enum gen_code */
    bool retryable;
    uint8_t reason;  /* enum gen_reason */
    const char *message;
};

static const struct gen_failure charge_failures[] = { /* weights 50/25/15/10 */
    {FC_DECLINED, true, CR_PAYMENT, "card declined by issuer"},
    {FC_FUNDS, false, CR_PAYMENT, "insufficient funds"},
    {FC_UNKNOWN, true, CR_TIMEOUT, "payment gateway timeout"},
    {FC_UNKNOWN, false, CR_FRAUD, "risk check failed"},
};
static const uint8_t charge_failure_weights[] = {50, 25, 15, 10};
static const struct gen_failure ship_failures[] = {
    {FC_ADDRESS, false, CR_CUSTOMER, "postal code does not match the city"},
    {FC_CARRIER, false, CR_TIMEOUT, "no carrier available for the route"},
};
static const struct gen_failure refund_failures[] = {
    {FC_NOT_FOUND, false, CR_CUSTOMER, "payment not found at the provider"},
    {FC_UNKNOWN, false, CR_CUSTOMER, "refund rejected by the provider"},
};
static const struct gen_failure stock_failure = {FC_STOCK, false, CR_STOCK,
                                                 "not enough stock to reserve"};
static const struct gen_failure release_failure = {FC_NOT_FOUND, false, CR_STOCK,
                                                   "reservation expired before release"};
static const struct gen_failure cancel_failure = {FC_SHIPPED, false, CR_CUSTOMER,
                                                  "parcel already handed to the carrier"};

/* ---- schema slots ---- */

/* Every payload field the generator writes, by name; a table has a subset. */
enum gen_field {
    GF_ORDER_ID, GF_CUSTOMER_ID, GF_REGION, GF_CHANNEL, GF_AMOUNT, GF_CURRENCY, GF_ITEMS,
    GF_SHIPPING, GF_COUPON, GF_PRIORITY, GF_TAGS, GF_PAYMENT_ID, GF_SHIPMENT_ID, GF_CARRIER,
    GF_TRACKING_NUMBER, GF_REASON, GF_NOTE, GF_WAREHOUSE, GF_RESERVATION_ID, GF_CODE, GF_SKU,
    GF_MESSAGE, GF_TOTAL, GF_ATTEMPT, GF_RETRYABLE, GF_REFUND_ID, GF_ADDRESS, GF_EXPRESS,
    GF_ETA_US, GF_COUNT
};

struct gen_field_spec {
    const char *name;
    uint8_t base;  /* enum sl_fb_base the schema must declare */
};

static const struct gen_field_spec payload_fields[GF_COUNT] = {
    [GF_ORDER_ID] = {"order_id", SL_FB_STRING},
    [GF_CUSTOMER_ID] = {"customer_id", SL_FB_STRING},
    [GF_REGION] = {"region", SL_FB_UBYTE},             [GF_CHANNEL] = {"channel", SL_FB_UBYTE},
    [GF_AMOUNT] = {"amount", SL_FB_LONG},              [GF_CURRENCY] = {"currency", SL_FB_UBYTE},
    [GF_ITEMS] = {"items", SL_FB_VECTOR},              [GF_SHIPPING] = {"shipping", SL_FB_OBJ},
    [GF_COUPON] = {"coupon", SL_FB_STRING},            [GF_PRIORITY] = {"priority", SL_FB_BOOL},
    [GF_TAGS] = {"tags", SL_FB_VECTOR},
    [GF_PAYMENT_ID] = {"payment_id", SL_FB_STRING},
    [GF_SHIPMENT_ID] = {"shipment_id", SL_FB_STRING},  [GF_CARRIER] = {"carrier", SL_FB_STRING},
    [GF_TRACKING_NUMBER] = {"tracking_number", SL_FB_STRING},
    [GF_REASON] = {"reason", SL_FB_UBYTE},             [GF_NOTE] = {"note", SL_FB_STRING},
    [GF_WAREHOUSE] = {"warehouse", SL_FB_STRING},
    [GF_RESERVATION_ID] = {"reservation_id", SL_FB_STRING},
    [GF_CODE] = {"code", SL_FB_USHORT},                [GF_SKU] = {"sku", SL_FB_STRING},
    [GF_MESSAGE] = {"message", SL_FB_STRING},          [GF_TOTAL] = {"total", SL_FB_OBJ},
    [GF_ATTEMPT] = {"attempt", SL_FB_UBYTE},           [GF_RETRYABLE] = {"retryable", SL_FB_BOOL},
    [GF_REFUND_ID] = {"refund_id", SL_FB_STRING},      [GF_ADDRESS] = {"address", SL_FB_OBJ},
    [GF_EXPRESS] = {"express", SL_FB_BOOL},            [GF_ETA_US] = {"eta_us", SL_FB_LONG},
};

#define F(x) (1ull << GF_##x)
#define F_FAILURE (F(ORDER_ID) | F(CODE) | F(MESSAGE))
static const uint64_t type_fields[SL_GEN_TYPE_COUNT] = {
    [SL_GEN_ORDER_PLACED] = F(ORDER_ID) | F(CUSTOMER_ID) | F(REGION) | F(CHANNEL) | F(AMOUNT) |
                            F(CURRENCY) | F(ITEMS) | F(SHIPPING) | F(COUPON) | F(PRIORITY) |
                            F(TAGS),
    [SL_GEN_ORDER_PAID] = F(ORDER_ID) | F(PAYMENT_ID) | F(AMOUNT) | F(CURRENCY),
    [SL_GEN_ORDER_SHIPPED] = F(ORDER_ID) | F(SHIPMENT_ID) | F(CARRIER) | F(TRACKING_NUMBER),
    [SL_GEN_ORDER_CANCELLED] = F(ORDER_ID) | F(REASON) | F(NOTE),
    [SL_GEN_INVENTORY_RESERVE] = F(ORDER_ID) | F(ITEMS) | F(WAREHOUSE),
    [SL_GEN_INVENTORY_RESERVED] = F(ORDER_ID) | F(RESERVATION_ID),
    [SL_GEN_INVENTORY_RESERVE_FAILED] = F_FAILURE | F(SKU),
    [SL_GEN_INVENTORY_RELEASE] = F(ORDER_ID) | F(RESERVATION_ID),
    [SL_GEN_INVENTORY_RELEASED] = F(ORDER_ID) | F(RESERVATION_ID),
    [SL_GEN_INVENTORY_RELEASE_FAILED] = F_FAILURE,
    [SL_GEN_PAYMENT_CHARGE] = F(ORDER_ID) | F(CUSTOMER_ID) | F(TOTAL) | F(ATTEMPT),
    [SL_GEN_PAYMENT_CHARGED] = F(ORDER_ID) | F(PAYMENT_ID) | F(TOTAL),
    [SL_GEN_PAYMENT_CHARGE_FAILED] = F_FAILURE | F(RETRYABLE),
    [SL_GEN_PAYMENT_REFUND] = F(ORDER_ID) | F(PAYMENT_ID) | F(TOTAL),
    [SL_GEN_PAYMENT_REFUNDED] = F(ORDER_ID) | F(REFUND_ID) | F(TOTAL),
    [SL_GEN_PAYMENT_REFUND_FAILED] = F_FAILURE,
    [SL_GEN_SHIPMENT_CREATE] = F(ORDER_ID) | F(ADDRESS) | F(ITEMS) | F(EXPRESS),
    [SL_GEN_SHIPMENT_CREATED] = F(ORDER_ID) | F(SHIPMENT_ID) | F(CARRIER) | F(ETA_US),
    [SL_GEN_SHIPMENT_CREATE_FAILED] = F_FAILURE,
    [SL_GEN_SHIPMENT_CANCEL] = F(ORDER_ID) | F(SHIPMENT_ID),
    [SL_GEN_SHIPMENT_CANCELLED] = F(ORDER_ID) | F(SHIPMENT_ID),
    [SL_GEN_SHIPMENT_CANCEL_FAILED] = F_FAILURE,
};
#undef F

enum gen_env_field { EF_ID, EF_TYPE, EF_VERSION, EF_KEY, EF_TS, EF_CORRELATION_ID,
                     EF_CAUSATION_ID, EF_HEADERS, EF_PAYLOAD, EF_COUNT };
static const struct gen_field_spec env_fields[EF_COUNT] = {
    [EF_ID] = {"id", SL_FB_STRING},           [EF_TYPE] = {"type", SL_FB_STRING},
    [EF_VERSION] = {"version", SL_FB_USHORT}, [EF_KEY] = {"key", SL_FB_STRING},
    [EF_TS] = {"ts", SL_FB_LONG},
    [EF_CORRELATION_ID] = {"correlation_id", SL_FB_STRING},
    [EF_CAUSATION_ID] = {"causation_id", SL_FB_STRING},
    [EF_HEADERS] = {"headers", SL_FB_VECTOR}, [EF_PAYLOAD] = {"payload", SL_FB_VECTOR},
};

enum { HF_KEY, HF_VALUE, HF_COUNT };
static const struct gen_field_spec header_fields[HF_COUNT] = {{"key", SL_FB_STRING},
                                                               {"value", SL_FB_STRING}};
enum { LF_SKU, LF_QUANTITY, LF_UNIT_PRICE, LF_COUNT };
static const struct gen_field_spec item_fields[LF_COUNT] = {
    {"sku", SL_FB_STRING}, {"quantity", SL_FB_UINT}, {"unit_price", SL_FB_LONG}};
enum { AF_NAME, AF_STREET, AF_CITY, AF_POSTAL_CODE, AF_COUNTRY, AF_COUNT };
static const struct gen_field_spec address_fields[AF_COUNT] = {
    {"name", SL_FB_STRING}, {"street", SL_FB_STRING}, {"city", SL_FB_STRING},
    {"postal_code", SL_FB_STRING}, {"country", SL_FB_STRING}};

/* A resolved table field: its vtable offset and default. */
struct gen_slot {
    uint16_t voff;           /* 0: the table has no such field (never written) */
    int64_t def;             /* default_integer, compared against like the builder does */
};

/* ---- state ---- */

/* Heap entries carry their key, so sifting never touches the orders. */
struct gen_heap_entry {
    int64_t next_us;
    uint32_t number;         /* low bits of the order number: ties in arrival order */
    uint32_t index;          /* into sl_gen.orders */
};

/* One order in flight; lives in sl_gen.orders, referenced from the heap. */
struct gen_order {
    int64_t next_us;         /* event time of the next step */
    uint64_t number;         /* 1-based order number of this run */
    int64_t amount;          /* order total, minor units of currency */
    int64_t eta_us;          /* shipment.created: estimated delivery */
    uint64_t tracking;       /* shipment.created: tracking number digits */
    uint32_t key_index;
    uint8_t step;            /* enum sl_gen_type of the next event */
    uint8_t region, city, currency, channel;
    uint8_t first, last, street;
    uint16_t street_no;
    char postal[16];
    uint8_t item_count;
    uint8_t skus[GEN_ITEMS_MAX], qty[GEN_ITEMS_MAX];
    uint8_t coupon;          /* 0 none, else coupons[coupon - 1] */
    uint8_t tags;            /* bit i: tag_names[i] */
    bool priority;
    uint8_t warehouse, carrier;
    uint8_t attempt;         /* payment.charge attempts so far */
    uint8_t reason;          /* enum gen_reason for order.cancelled */
    uint8_t fail_item;       /* inventory.reserve_failed: which item */
    const struct gen_failure *failure; /* the last failure reply */
    bool has_prev;
    char prev_id[SL_GEN_ID_LEN]; /* the causation of the next event */
};

struct sl_gen {
    const struct sl_fb_schemas *schemas;
    struct sl_gen_opts opts;
    struct gen_rng rng;
    char tag[5];             /* four base32 characters of the seed, NUL */
    uint64_t seq;            /* events stepped so far (filtered or not) */
    uint64_t orders_placed;
    int64_t now_us;          /* event time of the last event */
    int64_t next_arrival_us;
    struct gen_order *orders;
    uint32_t *free_list;     /* indexes into orders */
    uint32_t free_count;
    struct gen_heap_entry *heap; /* min-heap by (next_us, number) */
    uint32_t heap_len;
    struct sl_fbb payload;   /* the nested buffer */
    struct sl_fbb envelope;  /* the size-prefixed event */
    struct gen_slot fields[SL_GEN_TYPE_COUNT][GF_COUNT];
    struct gen_slot env[EF_COUNT], header[HF_COUNT], item[LF_COUNT], address[AF_COUNT];
    uint16_t money_units_off, money_currency_off, money_size;
    int64_t region_val[R_COUNT], channel_val[CH_COUNT], currency_val[CUR_COUNT];
    int64_t reason_val[CR_COUNT], code_val[FC_COUNT];
};

const char *sl_gen_type_name(enum sl_gen_type type)
{
    SL_ASSERT((unsigned)type < SL_GEN_TYPE_COUNT);
    return type_names[type];
}

int sl_gen_type_parse(const char *name, size_t len)
{
    for (int t = 0; t < SL_GEN_TYPE_COUNT; t++)
        if (strlen(type_names[t]) == len && memcmp(type_names[t], name, len) == 0)
            return t;
    return -1;
}

/* ---- create: resolve slots and enum values by name ---- */

static int gen_fail(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int gen_fail(char *err, size_t err_len, const char *fmt, ...)
{
    if (err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static int resolve_field(const struct sl_fb_object *object, const struct gen_field_spec *spec,
                         struct gen_slot *slot, const struct sl_fb_field **field, char *err,
                         size_t err_len)
{
    const struct sl_fb_field *f = sl_fb_object_field(object, spec->name, strlen(spec->name));
    if (!f || f->type.base != spec->base || f->deprecated)
        return gen_fail(err, err_len, "schema: %s.%s: missing, deprecated or not a %s",
                        object->name, spec->name, sl_fb_base_name(spec->base));
    slot->voff = f->offset;
    slot->def = f->default_integer;
    if (field)
        *field = f;
    return 0;
}

static int resolve_table(const struct sl_fb_object *object, const struct gen_field_spec *specs,
                         unsigned count, struct gen_slot *slots, char *err, size_t err_len)
{
    for (unsigned i = 0; i < count; i++) {
        int rc = resolve_field(object, &specs[i], &slots[i], NULL, err, err_len);
        if (rc)
            return rc;
    }
    return 0;
}

/* The table or struct a field of object refers to. */
static const struct sl_fb_object *field_object(const struct sl_fb_object *object,
                                               const char *name)
{
    const struct sl_fb_field *f = sl_fb_object_field(object, name, strlen(name));
    if (!f || f->type.index < 0)
        return NULL;
    return sl_fb_schema_object(object->schema, f->type.index);
}

static int resolve_enum(const struct sl_fb_object *object, const char *field_name,
                        const char *const *names, unsigned count, int64_t *vals, char *err,
                        size_t err_len)
{
    const struct sl_fb_field *f = sl_fb_object_field(object, field_name, strlen(field_name));
    const struct sl_fb_enum *e =
        f && f->type.index >= 0 ? sl_fb_schema_enum(object->schema, f->type.index) : NULL;
    if (!e)
        return gen_fail(err, err_len, "schema: %s.%s is not an enum", object->name, field_name);
    for (unsigned i = 0; i < count; i++) {
        const struct sl_fb_enum_val *v = sl_fb_enum_by_name(e, names[i], strlen(names[i]));
        if (!v)
            return gen_fail(err, err_len, "schema: enum %s has no member %s", e->name, names[i]);
        vals[i] = v->value;
    }
    return 0;
}

static const struct sl_fb_object *type_object(const struct sl_gen *g, enum sl_gen_type t)
{
    return sl_fb_schemas_event_object(g->schemas, type_names[t], strlen(type_names[t]));
}

static int resolve_payloads(struct sl_gen *g, char *err, size_t err_len)
{
    for (int t = 0; t < SL_GEN_TYPE_COUNT; t++) {
        const struct sl_fb_object *object = type_object(g, t);
        if (!object)
            return gen_fail(err, err_len, "schema: no table declares event type %s "
                                          "(is the orders schema loaded?)", type_names[t]);
        for (int f = 0; f < GF_COUNT; f++) {
            if (!(type_fields[t] & (1ull << f)))
                continue;
            int rc = resolve_field(object, &payload_fields[f], &g->fields[t][f], NULL, err,
                                   err_len);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int resolve_money(struct sl_gen *g, char *err, size_t err_len)
{
    const struct sl_fb_object *money = field_object(type_object(g, SL_GEN_PAYMENT_CHARGE), "total");
    const struct sl_fb_field *units = money ? sl_fb_object_field(money, "units", 5) : NULL;
    const struct sl_fb_field *currency = money ? sl_fb_object_field(money, "currency", 8) : NULL;
    if (!money || !money->is_struct || !units || units->type.base != SL_FB_LONG || !currency ||
        currency->type.base != SL_FB_UBYTE || money->bytesize > 64)
        return gen_fail(err, err_len, "schema: payment.charge's total is not a Money struct "
                                      "{units:long; currency:Currency}");
    g->money_units_off = units->offset;
    g->money_currency_off = currency->offset;
    g->money_size = (uint16_t)money->bytesize;
    return 0;
}

static int resolve_nested(struct sl_gen *g, char *err, size_t err_len)
{
    const struct sl_fb_object *placed = type_object(g, SL_GEN_ORDER_PLACED);
    const struct sl_fb_object *header = field_object(g->schemas->envelope, "headers");
    const struct sl_fb_object *item = field_object(placed, "items");
    const struct sl_fb_object *address = field_object(placed, "shipping");
    if (!header || !item || !address)
        return gen_fail(err, err_len, "schema: Event.headers, OrderPlaced.items or "
                                      "OrderPlaced.shipping has no table type");
    int rc = resolve_table(g->schemas->envelope, env_fields, EF_COUNT, g->env, err, err_len);
    if (!rc)
        rc = resolve_table(header, header_fields, HF_COUNT, g->header, err, err_len);
    if (!rc)
        rc = resolve_table(item, item_fields, LF_COUNT, g->item, err, err_len);
    if (!rc)
        rc = resolve_table(address, address_fields, AF_COUNT, g->address, err, err_len);
    if (!rc)
        rc = resolve_money(g, err, err_len);
    return rc;
}

static int resolve_enums(struct sl_gen *g, char *err, size_t err_len)
{
    const struct sl_fb_object *placed = type_object(g, SL_GEN_ORDER_PLACED);
    int rc = resolve_enum(placed, "region", region_names, R_COUNT, g->region_val, err, err_len);
    if (!rc)
        rc = resolve_enum(placed, "channel", channel_names, CH_COUNT, g->channel_val, err,
                          err_len);
    if (!rc)
        rc = resolve_enum(placed, "currency", currency_names, CUR_COUNT, g->currency_val, err,
                          err_len);
    if (!rc)
        rc = resolve_enum(type_object(g, SL_GEN_ORDER_CANCELLED), "reason", reason_names,
                          CR_COUNT, g->reason_val, err, err_len);
    if (!rc)
        rc = resolve_enum(type_object(g, SL_GEN_PAYMENT_CHARGE_FAILED), "code", code_names,
                          FC_COUNT, g->code_val, err, err_len);
    return rc;
}

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static int gen_check_opts(const struct sl_gen_opts *opts, char *err, size_t err_len)
{
    if (opts->keys == 0)
        return gen_fail(err, err_len, "keys must be at least 1");
    if (opts->type_mask & ~SL_GEN_ALL_TYPES)
        return gen_fail(err, err_len, "type mask 0x%x names unknown types", opts->type_mask);
    if (opts->start_us < 0 || opts->start_us > (INT64_C(1) << 47) * GEN_MS_US / 2)
        return gen_fail(err, err_len, "start time %lld µs is outside what a ULID holds",
                        (long long)opts->start_us);
    if (opts->in_flight_max > (1u << 20))
        return gen_fail(err, err_len, "in_flight_max %u is over 2^20", opts->in_flight_max);
    return 0;
}

int sl_gen_create(struct sl_gen **gen, const struct sl_fb_schemas *schemas,
                  const struct sl_gen_opts *opts, char *err, size_t err_len)
{
    int rc = gen_check_opts(opts, err, err_len);
    if (rc)
        return rc;
    struct sl_gen *g = calloc(1, sizeof(*g));
    SL_ASSERT(g);
    g->schemas = schemas;
    g->opts = *opts;
    if (!g->opts.type_mask)
        g->opts.type_mask = SL_GEN_ALL_TYPES;
    if (!g->opts.in_flight_max)
        g->opts.in_flight_max = SL_GEN_IN_FLIGHT_DEFAULT;
    rc = resolve_payloads(g, err, err_len);
    if (!rc)
        rc = resolve_nested(g, err, err_len);
    if (!rc)
        rc = resolve_enums(g, err, err_len);
    if (rc) {
        free(g);
        return rc;
    }
    rng_seed(&g->rng, opts->seed);
    uint64_t x = opts->seed ^ 0x5eed7a6ull;
    uint64_t tag = splitmix64(&x);
    for (int i = 0; i < 4; i++)
        g->tag[i] = crockford[(tag >> (5 * i)) & 31];
    g->now_us = g->next_arrival_us = g->opts.start_us;
    uint32_t n = g->opts.in_flight_max;
    g->orders = calloc(n, sizeof(*g->orders));
    g->free_list = malloc(n * sizeof(*g->free_list));
    g->heap = malloc(n * sizeof(*g->heap));
    SL_ASSERT(g->orders && g->free_list && g->heap);
    for (uint32_t i = 0; i < n; i++)
        g->free_list[i] = n - 1 - i; /* pop order 0, 1, 2, ... */
    g->free_count = n;
    /* Capacities that are not page multiples: a builder writes back from
     * buf + cap, and a small AVX-512 memset (masked store) whose vector
     * reaches past a page end costs hundreds of cycles; with a 4 KiB cap it
     * hit every envelope's first padding and took 15% of the time. */
    sl_fbb_init(&g->payload, 4000);
    sl_fbb_init(&g->envelope, 4000);
    *gen = g;
    return 0;
}

void sl_gen_destroy(struct sl_gen *g)
{
    if (!g)
        return;
    sl_fbb_fini(&g->payload);
    sl_fbb_fini(&g->envelope);
    free(g->orders);
    free(g->free_list);
    free(g->heap);
    free(g);
}

/* ---- the heap of orders by next event time ---- */

static bool entry_before(const struct gen_heap_entry *a, const struct gen_heap_entry *b)
{
    return a->next_us < b->next_us || (a->next_us == b->next_us && a->number < b->number);
}

static void heap_push(struct sl_gen *g, const struct gen_order *o)
{
    struct gen_heap_entry e = {.next_us = o->next_us, .number = (uint32_t)o->number,
                               .index = (uint32_t)(o - g->orders)};
    uint32_t i = g->heap_len++;
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!entry_before(&e, &g->heap[parent]))
            break;
        g->heap[i] = g->heap[parent];
        i = parent;
    }
    g->heap[i] = e;
}

static struct gen_order *heap_pop(struct sl_gen *g)
{
    SL_DASSERT(g->heap_len > 0);
    struct gen_order *top = &g->orders[g->heap[0].index];
    struct gen_heap_entry last = g->heap[--g->heap_len];
    uint32_t i = 0, n = g->heap_len;
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && entry_before(&g->heap[child + 1], &g->heap[child]))
            child++;
        if (!entry_before(&g->heap[child], &last))
            break;
        g->heap[i] = g->heap[child];
        i = child;
    }
    if (n) {
        g->heap[i] = last;
        /* the next order to step is known now: start its cache miss early */
        __builtin_prefetch(&g->orders[g->heap[0].index]);
    }
    return top;
}

/* ---- the simulation ---- */

static void postal_code(struct gen_rng *r, const char *pattern, char *out, size_t cap)
{
    size_t i = 0;
    for (; pattern[i] && i + 1 < cap; i++) {
        char c = pattern[i];
        if (c == '#')
            c = (char)('0' + rng_below(r, 10));
        else if (c == '@')
            c = (char)('A' + rng_below(r, 26));
        out[i] = c;
    }
    out[i] = 0;
}

/* The customer of key k: fixed by (seed, k), drawn from its own stream. */
static void order_customer(const struct sl_gen *g, struct gen_order *o)
{
    struct gen_rng r;
    rng_seed(&r, g->opts.seed ^ (0xc0ffee00ull + (uint64_t)o->key_index * 0x9e3779b97f4a7c15ull));
    o->region = (uint8_t)rng_weighted(&r, region_weights, R_COUNT);
    const struct gen_region_info *info = &regions[o->region];
    o->city = (uint8_t)rng_below(&r, info->city_count);
    o->currency = info->cities[o->city].currency;
    o->first = (uint8_t)rng_below(&r, GEN_COUNT(first_names));
    o->last = (uint8_t)rng_below(&r, GEN_COUNT(last_names));
    o->street = (uint8_t)rng_below(&r, 3);
    o->street_no = (uint16_t)rng_range(&r, 1, 299);
    postal_code(&r, info->cities[o->city].postal, o->postal, sizeof(o->postal));
}

/* A price in US cents in a currency's minor units, rounded as shops do. */
static int64_t price_in(unsigned currency, uint32_t cents)
{
    switch (currency) {
    case CUR_EUR: return (int64_t)cents * 92 / 100 / 100 * 100 + 99;
    case CUR_GBP: return (int64_t)cents * 79 / 100 / 100 * 100 + 99;
    case CUR_CHF: return (int64_t)cents * 88 / 100 / 100 * 100 + 90;
    case CUR_JPY: return ((int64_t)cents * 3 / 2 + 5) / 10 * 10; /* yen have no minor unit */
    default: return cents;
    }
}

static void order_items(struct gen_rng *r, struct gen_order *o)
{
    bool used[GEN_CATALOGUE_LEN] = {0};
    o->item_count = (uint8_t)(1 + rng_weighted(r, item_count_weights, GEN_ITEMS_MAX));
    o->amount = 0;
    for (unsigned i = 0; i < o->item_count; i++) {
        uint32_t a = rng_below(r, GEN_CATALOGUE_LEN), b = rng_below(r, GEN_CATALOGUE_LEN);
        uint32_t sku = a < b ? a : b; /* popular products first */
        while (used[sku])
            sku = (sku + 1) % GEN_CATALOGUE_LEN;
        used[sku] = true;
        o->skus[i] = (uint8_t)sku;
        o->qty[i] = (uint8_t)(1 + rng_weighted(r, quantity_weights, 3));
        o->amount += o->qty[i] * price_in(o->currency, catalogue[sku].price_cents);
    }
}

static void order_tags(struct gen_rng *r, struct gen_order *o)
{
    static const uint8_t tag_count_weights[3] = {55, 35, 10};
    unsigned count = rng_weighted(r, tag_count_weights, 3);
    o->tags = 0;
    for (unsigned i = 0; i < count; i++)
        o->tags |= (uint8_t)(1u << rng_below(r, GEN_COUNT(tag_names)));
}

/* A new order in a free slot: the order.placed step's draws. */
static struct gen_order *order_place(struct sl_gen *g)
{
    struct gen_order *o = &g->orders[g->free_list[--g->free_count]];
    memset(o, 0, sizeof(*o));
    struct gen_rng *r = &g->rng;
    o->number = ++g->orders_placed;
    o->next_us = g->next_arrival_us > g->now_us ? g->next_arrival_us : g->now_us;
    g->next_arrival_us = o->next_us + rng_range(r, 0, GEN_ARRIVAL_GAP_US_MAX);
    o->key_index = rng_below(r, g->opts.keys);
    order_customer(g, o);
    o->channel = (uint8_t)rng_weighted(r, channel_weights, CH_COUNT);
    order_items(r, o);
    o->coupon = rng_per_mille(r, 120) ? (uint8_t)(1 + rng_below(r, GEN_COUNT(coupons))) : 0;
    o->priority = rng_per_mille(r, 100);
    order_tags(r, o);
    o->step = SL_GEN_ORDER_PLACED;
    return o;
}

/* Sets the next step and its delay. */
static void order_then(struct gen_order *o, enum sl_gen_type next, struct gen_rng *r,
                       int64_t lo_us, int64_t hi_us)
{
    o->step = (uint8_t)next;
    o->next_us += rng_range(r, lo_us, hi_us);
}

static void order_fail(struct gen_order *o, const struct gen_failure *failure)
{
    o->failure = failure;
    o->reason = failure->reason;
}

/* The draws of the current step; returns false when the order's life ends. */
static bool order_step_commands(struct sl_gen *g, struct gen_order *o)
{
    struct gen_rng *r = &g->rng;
    switch (o->step) {
    case SL_GEN_ORDER_PLACED:
        order_then(o, SL_GEN_INVENTORY_RESERVE, r, 2 * GEN_MS_US, 20 * GEN_MS_US);
        return true;
    case SL_GEN_INVENTORY_RESERVE:
        o->warehouse = (uint8_t)rng_below(r, 2);
        order_then(o, rng_per_mille(r, 960) ? SL_GEN_INVENTORY_RESERVED
                                            : SL_GEN_INVENTORY_RESERVE_FAILED,
                   r, 5 * GEN_MS_US, 80 * GEN_MS_US);
        return true;
    case SL_GEN_PAYMENT_CHARGE:
        o->attempt++;
        order_then(o, rng_per_mille(r, o->attempt == 1 ? 900 : 600)
                          ? SL_GEN_PAYMENT_CHARGED : SL_GEN_PAYMENT_CHARGE_FAILED,
                   r, 80 * GEN_MS_US, 900 * GEN_MS_US);
        return true;
    case SL_GEN_SHIPMENT_CREATE:
        order_then(o, rng_per_mille(r, 970) ? SL_GEN_SHIPMENT_CREATED
                                            : SL_GEN_SHIPMENT_CREATE_FAILED,
                   r, 100 * GEN_MS_US, 2 * GEN_S_US);
        return true;
    case SL_GEN_SHIPMENT_CANCEL:
        order_then(o, rng_per_mille(r, 850) ? SL_GEN_SHIPMENT_CANCELLED
                                            : SL_GEN_SHIPMENT_CANCEL_FAILED,
                   r, 50 * GEN_MS_US, 500 * GEN_MS_US);
        return true;
    case SL_GEN_PAYMENT_REFUND:
        order_then(o, rng_per_mille(r, 980) ? SL_GEN_PAYMENT_REFUNDED
                                            : SL_GEN_PAYMENT_REFUND_FAILED,
                   r, 200 * GEN_MS_US, 3 * GEN_S_US);
        return true;
    case SL_GEN_INVENTORY_RELEASE:
        order_then(o, rng_per_mille(r, 990) ? SL_GEN_INVENTORY_RELEASED
                                            : SL_GEN_INVENTORY_RELEASE_FAILED,
                   r, 5 * GEN_MS_US, 80 * GEN_MS_US);
        return true;
    default:
        SL_ASSERT(!"not a command step");
        return false;
    }
}

static bool order_step_payment(struct sl_gen *g, struct gen_order *o)
{
    struct gen_rng *r = &g->rng;
    switch (o->step) {
    case SL_GEN_PAYMENT_CHARGED:
        order_then(o, SL_GEN_ORDER_PAID, r, 1 * GEN_MS_US, 10 * GEN_MS_US);
        return true;
    case SL_GEN_PAYMENT_CHARGE_FAILED:
        order_fail(o, &charge_failures[rng_weighted(r, charge_failure_weights, 4)]);
        if (o->failure->retryable && o->attempt < GEN_ATTEMPTS_MAX)
            order_then(o, SL_GEN_PAYMENT_CHARGE, r, 1 * GEN_S_US, 5 * GEN_S_US);
        else
            order_then(o, SL_GEN_INVENTORY_RELEASE, r, 1 * GEN_MS_US, 10 * GEN_MS_US);
        return true;
    case SL_GEN_PAYMENT_REFUNDED:
        order_then(o, SL_GEN_INVENTORY_RELEASE, r, 1 * GEN_MS_US, 10 * GEN_MS_US);
        return true;
    case SL_GEN_PAYMENT_REFUND_FAILED:
        o->failure = &refund_failures[rng_below(r, 2)]; /* the cancel reason stands */
        order_then(o, SL_GEN_INVENTORY_RELEASE, r, 1 * GEN_MS_US, 10 * GEN_MS_US);
        return true;
    default:
        return order_step_commands(g, o);
    }
}

static bool order_step_shipment(struct sl_gen *g, struct gen_order *o)
{
    struct gen_rng *r = &g->rng;
    switch (o->step) {
    case SL_GEN_SHIPMENT_CREATED:
        o->carrier = (uint8_t)rng_below(r, 3);
        o->tracking = rng_next(r) % 1000000000000ull;
        o->eta_us = o->next_us + (o->priority ? 1 : rng_range(r, 2, 5)) * GEN_DAY_US;
        if (rng_per_mille(r, 20))
            order_then(o, SL_GEN_SHIPMENT_CANCEL, r, 1 * GEN_S_US, 30 * GEN_S_US);
        else
            order_then(o, SL_GEN_ORDER_SHIPPED, r, 1 * GEN_S_US, 20 * GEN_S_US);
        return true;
    case SL_GEN_SHIPMENT_CREATE_FAILED:
        order_fail(o, &ship_failures[rng_below(r, 2)]);
        order_then(o, SL_GEN_PAYMENT_REFUND, r, 1 * GEN_MS_US, 10 * GEN_MS_US);
        return true;
    case SL_GEN_SHIPMENT_CANCELLED:
        o->reason = CR_CUSTOMER;
        order_then(o, SL_GEN_PAYMENT_REFUND, r, 1 * GEN_MS_US, 10 * GEN_MS_US);
        return true;
    case SL_GEN_SHIPMENT_CANCEL_FAILED:
        o->failure = &cancel_failure;
        order_then(o, SL_GEN_ORDER_SHIPPED, r, 1 * GEN_S_US, 10 * GEN_S_US);
        return true;
    default:
        return order_step_payment(g, o);
    }
}

static bool order_step(struct sl_gen *g, struct gen_order *o)
{
    struct gen_rng *r = &g->rng;
    switch (o->step) {
    case SL_GEN_INVENTORY_RESERVED:
        order_then(o, SL_GEN_PAYMENT_CHARGE, r, 1 * GEN_MS_US, 10 * GEN_MS_US);
        return true;
    case SL_GEN_INVENTORY_RESERVE_FAILED:
        order_fail(o, &stock_failure);
        o->fail_item = (uint8_t)rng_below(r, o->item_count);
        order_then(o, SL_GEN_ORDER_CANCELLED, r, 1 * GEN_MS_US, 10 * GEN_MS_US);
        return true;
    case SL_GEN_INVENTORY_RELEASED:
        order_then(o, SL_GEN_ORDER_CANCELLED, r, 1 * GEN_MS_US, 10 * GEN_MS_US);
        return true;
    case SL_GEN_INVENTORY_RELEASE_FAILED:
        o->failure = &release_failure; /* the cancel reason stands */
        order_then(o, SL_GEN_ORDER_CANCELLED, r, 1 * GEN_MS_US, 10 * GEN_MS_US);
        return true;
    case SL_GEN_ORDER_PAID:
        order_then(o, SL_GEN_SHIPMENT_CREATE, r, 5 * GEN_MS_US, 50 * GEN_MS_US);
        return true;
    case SL_GEN_ORDER_SHIPPED:
    case SL_GEN_ORDER_CANCELLED:
        return false;
    default:
        return order_step_shipment(g, o);
    }
}

/* A ULID: 48-bit ms timestamp then 80 random bits, Crockford base32. */
static void ulid(struct gen_rng *r, int64_t ts_us, char out[SL_GEN_ID_LEN])
{
    uint64_t ms = (uint64_t)ts_us / GEN_MS_US;
    for (int i = 9; i >= 0; i--, ms >>= 5)
        out[i] = crockford[ms & 31];
    uint64_t hi = rng_next(r), lo = rng_next(r) & 0xffff; /* 64 + 16 bits */
    for (int i = 25; i >= 23; i--, lo >>= 5)
        out[i] = crockford[lo & 31];
    out[22] = crockford[(lo & 1) | ((hi & 15) << 1)];
    hi >>= 4;
    for (int i = 21; i >= 10; i--, hi >>= 5)
        out[i] = crockford[hi & 31];
}

/* ---- building ---- */

/* Decimal digits of v at p; returns their count. */
static size_t fmt_u64(char *p, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

/* "<prefix>-<tag>-<order number>" (an order, payment, shipment, ... id). */
static sl_fb_ref put_order_ref(struct sl_gen *g, struct sl_fbb *b, const char *prefix,
                               const struct gen_order *o)
{
    char s[GEN_NAME_MAX];
    size_t n = strlen(prefix);
    memcpy(s, prefix, n);
    s[n++] = '-';
    memcpy(s + n, g->tag, 4);
    n += 4;
    s[n++] = '-';
    n += fmt_u64(s + n, o->number);
    return sl_fbb_string(b, s, n);
}

static size_t fmt_customer(char *s, uint32_t key_index)
{
    memcpy(s, "customer-", 9);
    return 9 + fmt_u64(s + 9, (uint64_t)key_index + 1);
}

static sl_fb_ref put_str(struct sl_fbb *b, const char *s) { return sl_fbb_string(b, s, strlen(s)); }

static void add_i64(struct sl_fbb *b, const struct gen_slot *s, int64_t v)
{
    sl_fbb_add_scalar(b, s->voff, &v, 8, &s->def, false);
}

static void add_u32(struct sl_fbb *b, const struct gen_slot *s, uint32_t v)
{
    uint32_t d = (uint32_t)s->def;
    sl_fbb_add_scalar(b, s->voff, &v, 4, &d, false);
}

static void add_u16(struct sl_fbb *b, const struct gen_slot *s, uint16_t v)
{
    uint16_t d = (uint16_t)s->def;
    sl_fbb_add_scalar(b, s->voff, &v, 2, &d, false);
}

static void add_u8(struct sl_fbb *b, const struct gen_slot *s, uint8_t v)
{
    uint8_t d = (uint8_t)s->def;
    sl_fbb_add_scalar(b, s->voff, &v, 1, &d, false);
}

static sl_fb_ref build_items(struct sl_gen *g, struct sl_fbb *b, const struct gen_order *o)
{
    sl_fb_ref refs[GEN_ITEMS_MAX];
    for (unsigned i = 0; i < o->item_count; i++) {
        const struct gen_product *p = &catalogue[o->skus[i]];
        sl_fb_ref sku = put_str(b, p->sku);
        sl_fbb_table_start(b);
        add_i64(b, &g->item[LF_UNIT_PRICE], price_in(o->currency, p->price_cents));
        sl_fbb_add_ref(b, g->item[LF_SKU].voff, sku);
        add_u32(b, &g->item[LF_QUANTITY], o->qty[i]);
        refs[i] = sl_fbb_table_end(b);
    }
    return sl_fbb_vector_refs(b, refs, o->item_count);
}

static sl_fb_ref build_address(struct sl_gen *g, struct sl_fbb *b, const struct gen_order *o)
{
    const struct gen_city *city = &regions[o->region].cities[o->city];
    char s[GEN_NAME_MAX * 2];
    int n = snprintf(s, sizeof(s), "%s %s", first_names[o->first], last_names[o->last]);
    sl_fb_ref name = sl_fbb_string(b, s, (size_t)n);
    n = snprintf(s, sizeof(s), "%u %s", o->street_no, city->streets[o->street]);
    sl_fb_ref street = sl_fbb_string(b, s, (size_t)n);
    sl_fb_ref city_ref = put_str(b, city->city);
    sl_fb_ref postal = put_str(b, o->postal);
    sl_fb_ref country = put_str(b, city->country);
    sl_fbb_table_start(b);
    sl_fbb_add_ref(b, g->address[AF_NAME].voff, name);
    sl_fbb_add_ref(b, g->address[AF_STREET].voff, street);
    sl_fbb_add_ref(b, g->address[AF_CITY].voff, city_ref);
    sl_fbb_add_ref(b, g->address[AF_POSTAL_CODE].voff, postal);
    sl_fbb_add_ref(b, g->address[AF_COUNTRY].voff, country);
    return sl_fbb_table_end(b);
}

static sl_fb_ref build_tags(struct sl_fbb *b, const struct gen_order *o)
{
    sl_fb_ref refs[GEN_COUNT(tag_names)];
    size_t n = 0;
    for (unsigned i = 0; i < GEN_COUNT(tag_names); i++)
        if (o->tags & (1u << i))
            refs[n++] = put_str(b, tag_names[i]);
    return sl_fbb_vector_refs(b, refs, n);
}

/* order.placed; the table fields go in size order (8, 4, 1) to avoid padding. */
static void build_placed(struct sl_gen *g, struct sl_fbb *b, const struct gen_order *o)
{
    const struct gen_slot *f = g->fields[SL_GEN_ORDER_PLACED];
    sl_fb_ref order_id = put_order_ref(g, b, "order", o);
    char s[GEN_NAME_MAX];
    sl_fb_ref customer = sl_fbb_string(b, s, fmt_customer(s, o->key_index));
    sl_fb_ref items = build_items(g, b, o);
    sl_fb_ref shipping = build_address(g, b, o);
    sl_fb_ref coupon = o->coupon ? put_str(b, coupons[o->coupon - 1]) : 0;
    sl_fb_ref tags = o->tags ? build_tags(b, o) : 0;
    sl_fbb_table_start(b);
    add_i64(b, &f[GF_AMOUNT], o->amount);
    sl_fbb_add_ref(b, f[GF_ORDER_ID].voff, order_id);
    sl_fbb_add_ref(b, f[GF_CUSTOMER_ID].voff, customer);
    sl_fbb_add_ref(b, f[GF_ITEMS].voff, items);
    sl_fbb_add_ref(b, f[GF_SHIPPING].voff, shipping);
    if (coupon)
        sl_fbb_add_ref(b, f[GF_COUPON].voff, coupon);
    if (tags)
        sl_fbb_add_ref(b, f[GF_TAGS].voff, tags);
    add_u8(b, &f[GF_REGION], (uint8_t)g->region_val[o->region]);
    add_u8(b, &f[GF_CHANNEL], (uint8_t)g->channel_val[o->channel]);
    add_u8(b, &f[GF_CURRENCY], (uint8_t)g->currency_val[o->currency]);
    add_u8(b, &f[GF_PRIORITY], o->priority);
}

/* A Money struct {units, currency} laid out as the schema says. */
static void add_money(struct sl_gen *g, struct sl_fbb *b, const struct gen_slot *slot,
                      const struct gen_order *o)
{
    uint8_t money[64] = {0};
    memcpy(money + g->money_units_off, &o->amount, 8);
    money[g->money_currency_off] = (uint8_t)g->currency_val[o->currency];
    sl_fbb_add_struct(b, slot->voff, money, g->money_size, 8);
}

/* Failure replies: order_id, code, message (+ sku, retryable). */
static void build_failure(struct sl_gen *g, struct sl_fbb *b, enum sl_gen_type t,
                          const struct gen_order *o)
{
    const struct gen_slot *f = g->fields[t];
    sl_fb_ref order_id = put_order_ref(g, b, "order", o);
    sl_fb_ref message = put_str(b, o->failure->message);
    sl_fb_ref sku = 0;
    if (t == SL_GEN_INVENTORY_RESERVE_FAILED)
        sku = put_str(b, catalogue[o->skus[o->fail_item]].sku);
    sl_fbb_table_start(b);
    sl_fbb_add_ref(b, f[GF_ORDER_ID].voff, order_id);
    sl_fbb_add_ref(b, f[GF_MESSAGE].voff, message);
    if (sku)
        sl_fbb_add_ref(b, f[GF_SKU].voff, sku);
    add_u16(b, &f[GF_CODE], (uint16_t)g->code_val[o->failure->code]);
    if (t == SL_GEN_PAYMENT_CHARGE_FAILED)
        add_u8(b, &f[GF_RETRYABLE], o->failure->retryable);
}

/* Tables of order_id plus one id (or none): reserved, release(d), cancel(led). */
static void build_with_id(struct sl_gen *g, struct sl_fbb *b, enum sl_gen_type t,
                          const struct gen_order *o, enum gen_field field, const char *prefix)
{
    const struct gen_slot *f = g->fields[t];
    sl_fb_ref order_id = put_order_ref(g, b, "order", o);
    sl_fb_ref id = put_order_ref(g, b, prefix, o);
    sl_fbb_table_start(b);
    sl_fbb_add_ref(b, f[GF_ORDER_ID].voff, order_id);
    sl_fbb_add_ref(b, f[field].voff, id);
}

static void build_payment(struct sl_gen *g, struct sl_fbb *b, enum sl_gen_type t,
                          const struct gen_order *o)
{
    const struct gen_slot *f = g->fields[t];
    sl_fb_ref order_id = put_order_ref(g, b, "order", o);
    sl_fb_ref other = 0;
    char s[GEN_NAME_MAX];
    if (t == SL_GEN_PAYMENT_CHARGE)
        other = sl_fbb_string(b, s, fmt_customer(s, o->key_index));
    else if (t == SL_GEN_PAYMENT_REFUNDED)
        other = put_order_ref(g, b, "rfd", o);
    else
        other = put_order_ref(g, b, "pay", o);
    sl_fbb_table_start(b);
    add_money(g, b, &f[GF_TOTAL], o);
    sl_fbb_add_ref(b, f[GF_ORDER_ID].voff, order_id);
    if (t == SL_GEN_PAYMENT_CHARGE) {
        sl_fbb_add_ref(b, f[GF_CUSTOMER_ID].voff, other);
        add_u8(b, &f[GF_ATTEMPT], o->attempt);
    } else {
        enum gen_field field = t == SL_GEN_PAYMENT_REFUNDED ? GF_REFUND_ID : GF_PAYMENT_ID;
        sl_fbb_add_ref(b, f[field].voff, other);
    }
}

static void build_order_paid(struct sl_gen *g, struct sl_fbb *b, const struct gen_order *o)
{
    const struct gen_slot *f = g->fields[SL_GEN_ORDER_PAID];
    sl_fb_ref order_id = put_order_ref(g, b, "order", o);
    sl_fb_ref payment = put_order_ref(g, b, "pay", o);
    sl_fbb_table_start(b);
    add_i64(b, &f[GF_AMOUNT], o->amount);
    sl_fbb_add_ref(b, f[GF_ORDER_ID].voff, order_id);
    sl_fbb_add_ref(b, f[GF_PAYMENT_ID].voff, payment);
    add_u8(b, &f[GF_CURRENCY], (uint8_t)g->currency_val[o->currency]);
}

/* order.shipped and shipment.created: shipment id, carrier, tracking / eta. */
static void build_shipped(struct sl_gen *g, struct sl_fbb *b, enum sl_gen_type t,
                          const struct gen_order *o)
{
    const struct gen_slot *f = g->fields[t];
    sl_fb_ref order_id = put_order_ref(g, b, "order", o);
    sl_fb_ref shipment = put_order_ref(g, b, "ship", o);
    const char *carrier_name = regions[o->region].carriers[o->carrier];
    sl_fb_ref carrier = put_str(b, carrier_name);
    sl_fb_ref tracking = 0;
    if (t == SL_GEN_ORDER_SHIPPED) {
        char s[GEN_NAME_MAX];
        size_t n = 0;
        s[n++] = carrier_name[0];
        s[n++] = carrier_name[1] == ' ' ? 'X' : carrier_name[1];
        n += fmt_u64(s + n, 1000000000000ull + o->tracking); /* 13 digits, leading 1 */
        tracking = sl_fbb_string(b, s, n);
    }
    sl_fbb_table_start(b);
    if (t == SL_GEN_SHIPMENT_CREATED)
        add_i64(b, &f[GF_ETA_US], o->eta_us);
    sl_fbb_add_ref(b, f[GF_ORDER_ID].voff, order_id);
    sl_fbb_add_ref(b, f[GF_SHIPMENT_ID].voff, shipment);
    sl_fbb_add_ref(b, f[GF_CARRIER].voff, carrier);
    if (tracking)
        sl_fbb_add_ref(b, f[GF_TRACKING_NUMBER].voff, tracking);
}

/* inventory.reserve and shipment.create: the order's items (+ where). */
static void build_items_command(struct sl_gen *g, struct sl_fbb *b, enum sl_gen_type t,
                                const struct gen_order *o)
{
    const struct gen_slot *f = g->fields[t];
    sl_fb_ref order_id = put_order_ref(g, b, "order", o);
    sl_fb_ref items = build_items(g, b, o);
    sl_fb_ref where = t == SL_GEN_INVENTORY_RESERVE
                          ? put_str(b, regions[o->region].warehouses[o->warehouse])
                          : build_address(g, b, o);
    sl_fbb_table_start(b);
    sl_fbb_add_ref(b, f[GF_ORDER_ID].voff, order_id);
    sl_fbb_add_ref(b, f[GF_ITEMS].voff, items);
    if (t == SL_GEN_INVENTORY_RESERVE) {
        sl_fbb_add_ref(b, f[GF_WAREHOUSE].voff, where);
    } else {
        sl_fbb_add_ref(b, f[GF_ADDRESS].voff, where);
        add_u8(b, &f[GF_EXPRESS], o->priority);
    }
}

static void build_cancelled(struct sl_gen *g, struct sl_fbb *b, const struct gen_order *o)
{
    const struct gen_slot *f = g->fields[SL_GEN_ORDER_CANCELLED];
    sl_fb_ref order_id = put_order_ref(g, b, "order", o);
    sl_fb_ref note = put_str(b, reason_notes[o->reason]);
    sl_fbb_table_start(b);
    sl_fbb_add_ref(b, f[GF_ORDER_ID].voff, order_id);
    sl_fbb_add_ref(b, f[GF_NOTE].voff, note);
    add_u8(b, &f[GF_REASON], (uint8_t)g->reason_val[o->reason]);
}

/* Starts and fills the payload table of type t (table_end is the caller's). */
static void build_payload_fields(struct sl_gen *g, struct sl_fbb *b, enum sl_gen_type t,
                                 const struct gen_order *o)
{
    switch (t) {
    case SL_GEN_ORDER_PLACED: build_placed(g, b, o); break;
    case SL_GEN_ORDER_PAID: build_order_paid(g, b, o); break;
    case SL_GEN_ORDER_SHIPPED:
    case SL_GEN_SHIPMENT_CREATED: build_shipped(g, b, t, o); break;
    case SL_GEN_ORDER_CANCELLED: build_cancelled(g, b, o); break;
    case SL_GEN_INVENTORY_RESERVE:
    case SL_GEN_SHIPMENT_CREATE: build_items_command(g, b, t, o); break;
    case SL_GEN_INVENTORY_RESERVED:
    case SL_GEN_INVENTORY_RELEASE:
    case SL_GEN_INVENTORY_RELEASED: build_with_id(g, b, t, o, GF_RESERVATION_ID, "res"); break;
    case SL_GEN_SHIPMENT_CANCEL:
    case SL_GEN_SHIPMENT_CANCELLED: build_with_id(g, b, t, o, GF_SHIPMENT_ID, "ship"); break;
    case SL_GEN_PAYMENT_CHARGE:
    case SL_GEN_PAYMENT_CHARGED:
    case SL_GEN_PAYMENT_REFUND:
    case SL_GEN_PAYMENT_REFUNDED: build_payment(g, b, t, o); break;
    case SL_GEN_INVENTORY_RESERVE_FAILED:
    case SL_GEN_INVENTORY_RELEASE_FAILED:
    case SL_GEN_PAYMENT_CHARGE_FAILED:
    case SL_GEN_PAYMENT_REFUND_FAILED:
    case SL_GEN_SHIPMENT_CREATE_FAILED:
    case SL_GEN_SHIPMENT_CANCEL_FAILED: build_failure(g, b, t, o); break;
    default: SL_ASSERT(!"unknown event type");
    }
}

/* The payload as an unprefixed buffer in g->payload. */
static const uint8_t *build_payload(struct sl_gen *g, enum sl_gen_type t,
                                    const struct gen_order *o, size_t *len)
{
    struct sl_fbb *b = &g->payload;
    sl_fbb_reset(b);
    build_payload_fields(g, b, t, o);
    sl_fb_ref root = sl_fbb_table_end(b);
    const uint8_t *bytes = sl_fbb_finish(b, root, false, len);
    SL_ASSERT(!b->failed);
    return bytes;
}

/* The size-prefixed envelope around the payload, in g->envelope. */
static void build_event(struct sl_gen *g, enum sl_gen_type t, const struct gen_order *o,
                        const char *id, int64_t ts_us, struct sl_gen_event *ev)
{
    size_t payload_len;
    const uint8_t *payload = build_payload(g, t, o, &payload_len);
    struct sl_fbb *b = &g->envelope;
    sl_fbb_reset(b);
    /* the nested buffer's bytes aligned to its own minalign (at least 8) */
    size_t align = g->payload.minalign < 8 ? 8 : g->payload.minalign;
    sl_fb_ref payload_ref = sl_fbb_vector(b, payload, payload_len, 1, align);
    sl_fb_ref hkey = put_str(b, "source");
    sl_fb_ref hvalue = put_str(b, t == SL_GEN_ORDER_PLACED ? channel_sources[o->channel]
                                                           : type_sources[t]);
    sl_fbb_table_start(b);
    sl_fbb_add_ref(b, g->header[HF_KEY].voff, hkey);
    sl_fbb_add_ref(b, g->header[HF_VALUE].voff, hvalue);
    sl_fb_ref header = sl_fbb_table_end(b);
    sl_fb_ref headers = sl_fbb_vector_refs(b, &header, 1);
    sl_fb_ref causation = o->has_prev ? sl_fbb_string(b, o->prev_id, SL_GEN_ID_LEN) : 0;
    sl_fb_ref correlation = put_order_ref(g, b, "order", o);
    char s[GEN_NAME_MAX];
    sl_fb_ref key = sl_fbb_string(b, s, fmt_customer(s, o->key_index));
    sl_fb_ref type = put_str(b, type_names[t]);
    sl_fb_ref id_ref = sl_fbb_string(b, id, SL_GEN_ID_LEN);
    sl_fbb_table_start(b);
    add_i64(b, &g->env[EF_TS], ts_us);
    sl_fbb_add_ref(b, g->env[EF_ID].voff, id_ref);
    sl_fbb_add_ref(b, g->env[EF_TYPE].voff, type);
    sl_fbb_add_ref(b, g->env[EF_KEY].voff, key);
    sl_fbb_add_ref(b, g->env[EF_CORRELATION_ID].voff, correlation);
    if (causation)
        sl_fbb_add_ref(b, g->env[EF_CAUSATION_ID].voff, causation);
    sl_fbb_add_ref(b, g->env[EF_HEADERS].voff, headers);
    sl_fbb_add_ref(b, g->env[EF_PAYLOAD].voff, payload_ref);
    add_u16(b, &g->env[EF_VERSION], 1);
    sl_fb_ref root = sl_fbb_table_end(b);
    ev->frame = sl_fbb_finish(b, root, true, &ev->frame_len);
    SL_ASSERT(!b->failed);
}

/* The order whose step comes next: a new arrival or the heap's earliest. */
static struct gen_order *gen_next_order(struct sl_gen *g)
{
    bool arrive = g->free_count > 0 &&
                  (g->heap_len == 0 || g->next_arrival_us <= g->heap[0].next_us);
    if (arrive)
        return order_place(g);
    return heap_pop(g);
}

void sl_gen_next(struct sl_gen *g, struct sl_gen_event *ev)
{
    for (;;) {
        struct gen_order *o = gen_next_order(g);
        if (o->next_us < g->now_us)
            o->next_us = g->now_us; /* a deferred arrival: time never goes backwards */
        int64_t ts_us = g->now_us = o->next_us;
        enum sl_gen_type t = (enum sl_gen_type)o->step;
        uint64_t seq = g->seq++;
        char id[SL_GEN_ID_LEN];
        ulid(&g->rng, ts_us, id);
        bool emit = g->opts.type_mask & (1u << t);
        /* the step's draws first: the build reads them, and they happen
         * whether or not the event is emitted */
        bool alive = order_step(g, o);
        if (emit) {
            build_event(g, t, o, id, ts_us, ev);
            ev->type = t;
            ev->key_index = o->key_index;
            ev->seq = seq;
            ev->ts_us = ts_us;
        }
        memcpy(o->prev_id, id, SL_GEN_ID_LEN);
        o->has_prev = true;
        if (alive)
            heap_push(g, o);
        else
            g->free_list[g->free_count++] = (uint32_t)(o - g->orders);
        if (emit)
            return;
    }
}
