/* Test models with hand-written descriptors, laid out as `dormc gen` emits
 * them (a C struct, offsetof-based dorm_field_desc tables, key templates,
 * indexes):
 *
 *   Kitchen   every type, optional/omit_empty variants, naming snake_case,
 *             owns table "kitchen" (PK id @pk), an attribute name with a dot,
 *             gsi "by-name": GSI1PK = "N#{name}#{color}", GSI1SK = "{count}#{id}".
 *   Order     single-table design: table "shop", type "Order",
 *             PK = "CUSTOMER#{customerId}", SK = "ORDER#{orderId}",
 *             gsi-status: GSI1PK = "STATUS#{status}", GSI1SK = "{createdAt}",
 *             lifecycle roles, @name, json, ttl.
 *   Customer  the same table, type "Customer", SK = "PROFILE",
 *             gsi-email: GSI2PK = "EMAIL#{email}" (keys_only).
 *   User      DynamORM's contract model (dms/v0.1/models/user.yml): owns its
 *             table, PK/SK fields, gsi-email on an optional field.
 *
 * The table names are variables so that integration tests can use unique
 * names; unit tests never send anything. */
#ifndef DORM_TEST_MODELS_H
#define DORM_TEST_MODELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dorm/model.h"

/* Physical table names (default "kitchen", "shop", "users_contract"). */
extern char tm_kitchen_table[64], tm_shop_table[64], tm_users_table[64];

typedef enum tm_Color { TM_COLOR_RED = 1, TM_COLOR_GREEN = 2, TM_COLOR_BLUE = 3 } tm_Color; /* "red" "green" "BLUE" */
typedef enum tm_OrderStatus {
  TM_STATUS_PENDING = 1,
  TM_STATUS_PAID = 2,
  TM_STATUS_SHIPPED = 3 /* stored "SHIPPED" */
} tm_OrderStatus;

typedef struct tm_Address {
  const char *street;
  const char *city;
  const char *postCode; /* string?  (snake_case: post_code) */
} tm_Address;

typedef struct tm_opt_Address {
  bool has;
  tm_Address value;
} tm_opt_Address;

typedef struct tm_set_string { const char **items; size_t count; } tm_set_string;
typedef struct tm_set_int { int64_t *items; size_t count; } tm_set_int;
typedef struct tm_set_float { double *items; size_t count; } tm_set_float;
typedef struct tm_set_decimal { const char **items; size_t count; } tm_set_decimal;
typedef struct tm_set_bytes { dorm_bytes *items; size_t count; } tm_set_bytes;
typedef struct tm_list_opt_int { dorm_opt_i64 *items; size_t count; } tm_list_opt_int;
typedef struct tm_list_opt_string { const char **items; size_t count; } tm_list_opt_string;
typedef struct tm_list_opt_Address { tm_opt_Address *items; size_t count; } tm_list_opt_Address;
typedef struct tm_list_int { int64_t *items; size_t count; } tm_list_int;
typedef struct tm_list_list_int { tm_list_int *items; size_t count; } tm_list_list_int;
typedef struct tm_map_string { const char **keys; const char **values; size_t count; } tm_map_string;
typedef struct tm_map_opt_int { const char **keys; dorm_opt_i64 *values; size_t count; } tm_map_opt_int;

typedef struct tm_Kitchen {
  const char *id;           /* string @pk */
  const char *name;         /* string */
  int64_t count;            /* int */
  double ratio;             /* float */
  const char *price;        /* decimal */
  bool active;              /* bool */
  dorm_bytes blob;          /* bytes */
  int64_t when;             /* time */
  bool has_expiresAt;
  int64_t expiresAt;        /* epoch? @ttl @omit_empty */
  const char *doc;          /* json? */
  tm_Color color;           /* Color */
  tm_Address home;          /* Address */
  bool has_work;
  tm_Address work;          /* Address? */
  tm_set_string tags;       /* set<string> */
  tm_set_int nums;          /* set<int> */
  bool has_ratios;
  tm_set_float ratios;      /* set<float>? */
  tm_set_decimal amounts;   /* set<decimal> */
  tm_set_bytes blobs;       /* set<bytes> */
  tm_list_opt_int scores;   /* list<int?> */
  tm_list_opt_string labels;/* list<string?> */
  tm_list_opt_Address places; /* list<Address?> */
  tm_list_list_int grid;    /* list<list<int>> */
  tm_map_string attrs;      /* map<string> */
  tm_map_opt_int limits;    /* map<int?> */
  const char *nickname;     /* string? @omit_empty */
  bool has_level;
  int64_t level;            /* int? */
  bool flag;                /* bool @omit_empty */
  const char *memo;         /* string? @name("the.memo") */
} tm_Kitchen;

enum {
  TM_K_id, TM_K_name, TM_K_count, TM_K_ratio, TM_K_price, TM_K_active, TM_K_blob, TM_K_when, TM_K_expiresAt,
  TM_K_doc, TM_K_color, TM_K_home, TM_K_work, TM_K_tags, TM_K_nums, TM_K_ratios, TM_K_amounts, TM_K_blobs,
  TM_K_scores, TM_K_labels, TM_K_places, TM_K_grid, TM_K_attrs, TM_K_limits, TM_K_nickname, TM_K_level,
  TM_K_flag, TM_K_memo, TM_K_NFIELDS
};

typedef struct tm_Money {
  const char *amount;   /* decimal */
  const char *currency; /* string */
} tm_Money;

typedef struct tm_Order {
  const char *customerId;   /* string */
  const char *orderId;      /* string */
  tm_OrderStatus status;    /* OrderStatus */
  tm_Money total;           /* Money */
  tm_set_string tags;       /* set<string> @omit_empty */
  bool has_shipTo;
  tm_Address shipTo;        /* Address? */
  const char *note;         /* string? @name("customer_note") */
  const char *metadata;     /* json? */
  int64_t createdAt;        /* time @created_at */
  int64_t updatedAt;        /* time @updated_at */
  int64_t version;          /* int @version */
  bool has_expiresAt;
  int64_t expiresAt;        /* epoch? @ttl @omit_empty */
} tm_Order;

enum {
  TM_O_customerId, TM_O_orderId, TM_O_status, TM_O_total, TM_O_tags, TM_O_shipTo, TM_O_note, TM_O_metadata,
  TM_O_createdAt, TM_O_updatedAt, TM_O_version, TM_O_expiresAt, TM_O_NFIELDS
};
/* Order's indexes[] positions. */
enum { TM_O_IX_TABLE = 0, TM_O_IX_STATUS = 1 };

typedef struct tm_Customer {
  const char *customerId; /* string */
  const char *email;      /* string */
  const char *name;       /* string */
  int64_t createdAt;      /* time @created_at */
  int64_t updatedAt;      /* time @updated_at */
  int64_t version;        /* int @version */
} tm_Customer;

enum { TM_C_customerId, TM_C_email, TM_C_name, TM_C_createdAt, TM_C_updatedAt, TM_C_version };
enum { TM_C_IX_TABLE = 0, TM_C_IX_EMAIL = 1 };

typedef struct tm_User {
  const char *PK;         /* string @pk */
  const char *SK;         /* string @sk */
  const char *emailHash;  /* string? */
  const char *nickname;   /* string? @omit_empty */
  bool has_tags;
  tm_set_string tags;     /* set<string>? @omit_empty */
  int64_t createdAt;      /* time @created_at */
  int64_t updatedAt;      /* time @updated_at */
  int64_t version;        /* int @version */
  bool has_ttl;
  int64_t ttl;            /* epoch? @ttl @omit_empty */
} tm_User;

enum { TM_U_PK, TM_U_SK, TM_U_emailHash, TM_U_nickname, TM_U_tags, TM_U_createdAt, TM_U_updatedAt, TM_U_version, TM_U_ttl };
enum { TM_U_IX_TABLE = 0, TM_U_IX_EMAIL = 1 };

enum { TM_K_IX_TABLE = 0, TM_K_IX_NAME = 1 };

extern const dorm_model_desc tm_Kitchen_desc, tm_Order_desc, tm_Customer_desc, tm_User_desc;
extern const dorm_enum_desc tm_Color_edesc, tm_OrderStatus_edesc;

/* A Kitchen with every field set (arrays in static storage), and its item
 * as written for id "k1". */
void tm_sample_kitchen(tm_Kitchen *k, const char *id);
extern const char tm_sample_kitchen_json[];

#endif
