"""Five independently written honest solutions of pandas-cleaning, one style each.

Each author maps a solution cell's ``grade_id`` to ``(prelude, body)``: ``prelude`` is code the
author put above the function in the same cell (helpers), ``body`` the function's body (without
its ``def`` line, indented by four spaces).
"""

from __future__ import annotations

Author = dict[str, tuple[str, str]]

# A: method chaining, close to the documentation's idioms
ANNA: Author = {
    "load_orders": ("", '    return pd.read_csv(path, na_values=["?", "missing"])'),
    "parse_amount": ("", '''    cleaned = values.astype("string").str.replace(r"[$,\\s]", "", regex=True)
    return pd.to_numeric(cleaned, errors="coerce").astype("float64")'''),
    "tidy_text": ("", '''    return df.assign(
        customer=df["customer"].str.strip(),
        region=df["region"].str.strip().str.title(),
    )'''),
    "fix_types": ("", '''    return df.assign(
        order_date=pd.to_datetime(df["order_date"], format="%Y-%m-%d"),
        quantity=df["quantity"].astype("Int64"),
        amount=parse_amount(df["amount"]),
    )'''),
    "missing_report": ("", '''    counts = df.isna().sum()
    return counts[counts > 0].sort_values(ascending=False, kind="stable")'''),
    "fill_missing": ("", '''    booked = df.dropna(subset=["order_date"])
    medians = booked.groupby("region")["amount"].transform("median")
    return booked.assign(quantity=booked["quantity"].fillna(1),
                         amount=booked["amount"].fillna(medians))'''),
    "deduplicate": ("", '''    return (df.drop_duplicates()
              .drop_duplicates(subset="order_id", keep="last")
              .sort_values("order_id")
              .reset_index(drop=True))'''),
    "clean_orders": ("", '''    steps = [tidy_text, fix_types, deduplicate, fill_missing]
    frame = load_orders(path)
    for step in steps:
        frame = step(frame)
    return frame.reset_index(drop=True)'''),
}

# B: explicit, step by step, element-wise helpers
BORIS: Author = {
    "load_orders": ("", '''    table = pd.read_csv(path)
    table = table.replace({"?": np.nan, "missing": np.nan})
    table["quantity"] = pd.to_numeric(table["quantity"])
    return table'''),
    "parse_amount": ('''def money_to_float(text):
    if pd.isna(text):
        return np.nan
    text = str(text).strip()
    text = text.replace("$", "").replace(",", "")
    return float(text)

''', '''    result = values.apply(money_to_float)
    return result.astype(float)'''),
    "tidy_text": ("", '''    new = df.copy()
    names = []
    for name in new["customer"]:
        names.append(name.strip() if isinstance(name, str) else name)
    new["customer"] = names
    regions = []
    for r in new["region"]:
        regions.append(r.strip().capitalize() if isinstance(r, str) else r)
    new["region"] = regions
    return new'''),
    "fix_types": ("", '''    new = df.copy()
    new["order_date"] = pd.to_datetime(new["order_date"], errors="coerce")
    whole = pd.to_numeric(new["quantity"], errors="coerce")
    new["quantity"] = pd.array(whole, dtype="Int64")
    new["amount"] = parse_amount(new["amount"])
    return new'''),
    "missing_report": ("", '''    report = {}
    for column in df.columns:
        n = int(df[column].isna().sum())
        if n > 0:
            report[column] = n
    series = pd.Series(report, dtype="int64")
    return series.sort_values(ascending=False, kind="mergesort")'''),
    "fill_missing": ("", '''    new = df[df["order_date"].notna()].copy()
    new.loc[new["quantity"].isna(), "quantity"] = 1
    for region in new["region"].unique():
        in_region = new["region"] == region
        median = new.loc[in_region, "amount"].median()
        gaps = in_region & new["amount"].isna()
        new.loc[gaps, "amount"] = median
    return new'''),
    "deduplicate": ("", '''    no_copies = df[~df.duplicated()]
    latest = no_copies[~no_copies.duplicated(subset=["order_id"], keep="last")]
    latest = latest.sort_values(by="order_id")
    latest.index = range(len(latest))
    return latest'''),
    "clean_orders": ("", '''    table = load_orders(path)
    table = tidy_text(table)
    table = fix_types(table)
    table = deduplicate(table)
    table = fill_missing(table)
    table = table.reset_index(drop=True)
    return table'''),
}

# C: numpy-flavoured, dictionaries and mapping
CHEN: Author = {
    "load_orders": ("MISSING_MARKERS = ['?', 'missing']\n\n",
                    "    return pd.read_csv(path, na_values=MISSING_MARKERS, keep_default_na=True)"),
    "parse_amount": ("", r'''    digits = values.str.replace('$', '', regex=False).str.replace(',', '', regex=False)
    out = np.where(values.isna(), np.nan, digits.str.strip())
    return pd.Series(out, index=values.index).astype('float64')'''),
    "tidy_text": ("", '''    fixed = df.copy(deep=True)
    for col, how in {'customer': str.strip, 'region': lambda s: s.strip().title()}.items():
        fixed[col] = fixed[col].map(how, na_action='ignore')
    return fixed'''),
    "fix_types": ("", '''    conversions = {
        'order_date': lambda s: pd.to_datetime(s, format='%Y-%m-%d', errors='coerce'),
        'quantity': lambda s: s.round().astype('Int64'),
        'amount': parse_amount,
    }
    fixed = df.copy()
    for col, convert in conversions.items():
        fixed[col] = convert(fixed[col])
    return fixed'''),
    "missing_report": ("", '''    nulls = df.isnull().sum(axis=0)
    nulls = nulls[nulls.to_numpy() > 0]
    order = np.argsort(-nulls.to_numpy(), kind='stable')
    return nulls.iloc[order]'''),
    "fill_missing": ("", '''    kept = df.loc[~df['order_date'].isnull()].copy()
    kept['quantity'] = kept['quantity'].where(kept['quantity'].notnull(), 1)
    per_region = kept.groupby('region')['amount'].median().to_dict()
    guess = kept['region'].map(per_region)
    kept['amount'] = np.where(kept['amount'].isnull(), guess, kept['amount'])
    return kept'''),
    "deduplicate": ("", '''    unique_rows = df.loc[~df.duplicated(keep='first')]
    last_rows = unique_rows.groupby('order_id', sort=True).tail(1)
    return last_rows.sort_values('order_id').reset_index(drop=True)'''),
    "clean_orders": ("", '''    from functools import reduce
    pipeline = (tidy_text, fix_types, deduplicate, fill_missing)
    cleaned = reduce(lambda acc, fn: fn(acc), pipeline, load_orders(path))
    return cleaned.reset_index(drop=True)'''),
}

# D: defensive, with asserts and comments
DARA: Author = {
    "load_orders": ("", '''    # blanks are already NaN; add the two custom markers
    frame = pd.read_csv(path, na_values={"quantity": ["?", "missing"], "amount": ["?", "missing"],
                                         "order_date": ["?", "missing"]})
    assert "quantity" in frame.columns
    return frame'''),
    "parse_amount": ("", '''    # work on a copy of the strings
    as_text = values.copy().astype(object)
    mask = as_text.notna()
    as_text[mask] = as_text[mask].astype(str).str.strip().str.lstrip("$").str.replace(",", "")
    numbers = pd.to_numeric(as_text, errors="coerce")
    return numbers.astype("float64")'''),
    "tidy_text": ("", '''    # never touch the caller's frame
    tidy = df.copy()
    tidy.loc[:, "customer"] = tidy["customer"].astype("string").str.strip().astype(object)
    region = tidy["region"].astype("string").str.strip().str.lower()
    tidy.loc[:, "region"] = region.str.capitalize().astype(object)
    return tidy'''),
    "fix_types": ("", '''    typed = df.copy()
    # dates are ISO formatted
    typed["order_date"] = typed["order_date"].apply(lambda d: pd.NaT if pd.isna(d) else pd.Timestamp(d))
    typed["order_date"] = typed["order_date"].astype("datetime64[ns]")
    typed["quantity"] = typed["quantity"].astype("float").astype("Int64")
    typed["amount"] = parse_amount(typed["amount"])
    assert typed["amount"].dtype == "float64"
    return typed'''),
    "missing_report": ("", '''    # count, keep the non-zero ones, biggest first
    missing = df.isna().sum()
    missing = missing.loc[missing != 0]
    return missing.sort_values(ascending=False, kind="stable")'''),
    "fill_missing": ("", '''    # rule 1: no date, no booking
    result = df.dropna(subset=["order_date"]).copy()
    # rule 2: default quantity
    result["quantity"] = result["quantity"].fillna(value=1)
    # rule 3: regional median
    for name, group in result.groupby("region"):
        result.loc[group.index, "amount"] = group["amount"].fillna(group["amount"].median())
    return result'''),
    "deduplicate": ("", '''    # exact copies first, then keep the correction (last row per id)
    step1 = df.drop_duplicates(keep="first")
    step2 = step1.drop_duplicates("order_id", keep="last")
    ordered = step2.sort_values("order_id", kind="stable")
    return ordered.reset_index(drop=True)'''),
    "clean_orders": ("", '''    # the order of steps matters
    loaded = load_orders(path)
    typed = fix_types(tidy_text(loaded))
    unique = deduplicate(typed)
    complete = fill_missing(unique)
    return complete.reset_index(drop=True)'''),
}

# E: compact, comprehension-heavy
EMRE: Author = {
    "load_orders": ("", "    return pd.read_csv(path, na_values=('?', 'missing'))"),
    "parse_amount": ("", r'''    return pd.Series([float(v.replace('$', '').replace(',', '')) if isinstance(v, str) else np.nan
                      for v in values], index=values.index, dtype='float64')'''),
    "tidy_text": ("", '''    out = df.copy()
    out['customer'] = [c.strip() if isinstance(c, str) else c for c in out['customer']]
    out['region'] = [r.strip().title() if isinstance(r, str) else r for r in out['region']]
    return out'''),
    "fix_types": ("", '''    out = df.copy()
    out['order_date'] = pd.to_datetime(out.order_date)
    out['quantity'] = pd.Series([pd.NA if pd.isna(q) else int(q) for q in out.quantity],
                                index=out.index, dtype='Int64')
    out['amount'] = parse_amount(out.amount)
    return out'''),
    "missing_report": ("", '''    counts = {c: n for c, n in df.isna().sum().items() if n}
    return pd.Series(dict(sorted(counts.items(), key=lambda kv: -kv[1])), dtype='int64')'''),
    "fill_missing": ("", '''    out = df[~df.order_date.isna()].copy()
    out['quantity'] = out.quantity.fillna(1)
    med = {r: g.amount.median() for r, g in out.groupby('region')}
    out['amount'] = [med[r] if pd.isna(a) else a for r, a in zip(out.region, out.amount)]
    return out'''),
    "deduplicate": ("", '''    out = df.drop_duplicates()
    keep = ~out.order_id.duplicated(keep='last')
    return out[keep].sort_values('order_id').reset_index(drop=True)'''),
    "clean_orders": ("", '''    return fill_missing(deduplicate(fix_types(tidy_text(load_orders(path))))).reset_index(drop=True)'''),
}

AUTHORS: dict[str, Author] = {"anna": ANNA, "boris": BORIS, "chen": CHEN, "dara": DARA, "emre": EMRE}
