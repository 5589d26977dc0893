"""Build the sample learner submissions for every assessment in ``assessments/``.

Each submission starts from the *released* student notebook that ``nbgrader
generate_assignment`` produces from the assessment's source notebook; the learner's answers are
then written into the solution cells. Run from the repository root::

    .venv/bin/python notebooks/make_samples.py            # every assessment
    .venv/bin/python notebooks/make_samples.py sql-from-python

Learners (the same six for every assessment):

* ``alice`` — a strong submission: full or near-full marks;
* ``bob`` — partial: passes some competencies but misses the overall threshold or a
  competency minimum;
* ``carol`` — mostly unanswered or wrong;
* ``dave`` — looks like a pass only because he edited a locked test cell to ``assert True``
  and stripped another test cell (the hidden tests it is graded with never reach learners, and
  he cut its visible asserts too); grading must restore both cells from the source;
* ``erin`` — an early solution raises an exception, so the tests that depend on it error;
* ``frank`` — the file is truncated JSON and cannot be read at all.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterable
from pathlib import Path

import nbformat
from nbformat import NotebookNode

REPO = Path(__file__).resolve().parents[1]
ASSESSMENTS = REPO / "assessments"
SAMPLES = REPO / "notebooks"
LEARNERS = ("alice", "bob", "carol", "dave", "erin", "frank")
COURSE_ID = "nbcred-catalogue"

Answers = dict[str, str]  # grade_id of a solution cell -> the learner's cell source


def _code(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


# ----------------------------------------------------------------------------------------------
# pandas-cleaning
# ----------------------------------------------------------------------------------------------
CLEANING_ALICE: Answers = {
    "load_orders": """
        def load_orders(path):
            df = pd.read_csv(path, na_values=["?", "missing"])
            return df


        raw = load_orders("orders_raw.csv")
        raw.head()
        """,
    "parse_amount": """
        def parse_amount(values):
            text = values.str.strip()
            text = text.str.replace("$", "", regex=False).str.replace(",", "", regex=False)
            return text.astype(float)


        parse_amount(raw["amount"]).head()
        """,
    "tidy_text": """
        def tidy_text(df):
            df = df.copy()
            df["customer"] = df["customer"].str.strip()
            df["region"] = df["region"].str.strip().str.capitalize()
            return df


        tidy_text(raw)["region"].value_counts()
        """,
    "fix_types": """
        def fix_types(df):
            typed = df.copy()
            typed["order_date"] = pd.to_datetime(typed["order_date"])
            typed["quantity"] = typed["quantity"].astype("Int64")
            typed["amount"] = parse_amount(typed["amount"])
            return typed


        fix_types(raw).dtypes
        """,
    "missing_report": """
        def missing_report(df):
            n_missing = df.isna().sum()
            n_missing = n_missing[n_missing > 0]
            return n_missing.sort_values(ascending=False)


        missing_report(fix_types(tidy_text(raw)))
        """,
    "fill_missing": """
        def fill_missing(df):
            result = df[df["order_date"].notna()].copy()
            result["quantity"] = result["quantity"].fillna(1)
            medians = result.groupby("region")["amount"].median()
            gaps = result["amount"].isna()
            result.loc[gaps, "amount"] = result.loc[gaps, "region"].map(medians)
            return result


        fill_missing(fix_types(tidy_text(raw))).isna().sum()
        """,
    "deduplicate": """
        def deduplicate(df):
            no_copies = df.drop_duplicates()
            latest = no_copies.drop_duplicates("order_id", keep="last")
            latest = latest.sort_values(by="order_id")
            return latest.reset_index(drop=True)


        len(raw), len(deduplicate(raw))
        """,
    "clean_orders": """
        def clean_orders(path):
            df = load_orders(path)
            df = tidy_text(df)
            df = fix_types(df)
            df = deduplicate(df)
            df = fill_missing(df)
            return df.reset_index(drop=True)


        orders = clean_orders("orders_raw.csv")
        orders.head()
        """,
}

CLEANING: dict[str, Answers] = {
    "alice": CLEANING_ALICE,
    # Types are right; missing values and duplicates are handled naively.
    "bob": {
        **{k: CLEANING_ALICE[k] for k in ("load_orders", "parse_amount", "fix_types")},
        "tidy_text": CLEANING_ALICE["tidy_text"],
        "missing_report": """
            def missing_report(df):
                return df.isna().sum()


            missing_report(raw)
            """,
        "fill_missing": """
            def fill_missing(df):
                return df.fillna({"quantity": 0, "amount": df["amount"].mean()})


            fill_missing(fix_types(raw)).isna().sum()
            """,
        "deduplicate": """
            def deduplicate(df):
                return df.drop_duplicates()


            len(deduplicate(raw))
            """,
        "clean_orders": """
            def clean_orders(path):
                return fill_missing(deduplicate(fix_types(tidy_text(load_orders(path)))))


            orders = clean_orders("orders_raw.csv")
            """,
    },
    # Loads without the missing-value markers, tidies the text, gives up on the rest.
    "carol": {
        "load_orders": """
            def load_orders(path):
                return pd.read_csv(path)


            raw = load_orders("orders_raw.csv")
            raw.head()
            """,
        "tidy_text": """
            def tidy_text(df):
                out = df.copy()
                out["customer"] = out["customer"].str.strip()
                out["region"] = out["region"].str.strip().str.title()
                return out
            """,
    },
    # Two answers are wrong; he hides that by editing the tests (see TAMPERING).
    "dave": {
        **CLEANING_ALICE,
        "fill_missing": """
            def fill_missing(df):
                out = df.copy()
                out["quantity"] = out["quantity"].fillna(1)
                out["amount"] = out["amount"].fillna(out["amount"].median())
                return out
            """,
        "deduplicate": """
            def deduplicate(df):
                return df.drop_duplicates(subset="order_id")
            """,
    },
    # A typo in the very first answer: nothing after it has `raw`.
    "erin": {
        **CLEANING_ALICE,
        "load_orders": """
            def load_orders(path):
                df = pd.read_csv(path, na_values=["?", "missing"])
                df = df.set_index("orderid")
                return df


            raw = load_orders("orders_raw.csv")
            raw.head()
            """,
    },
}

# ----------------------------------------------------------------------------------------------
# exploratory-stats
# ----------------------------------------------------------------------------------------------
STATS_ALICE: Answers = {
    "describe_scores": """
        def describe_scores(scores):
            stats = {}
            stats["mean"] = scores.mean()
            stats["median"] = scores.median()
            stats["std"] = scores.std()
            stats["iqr"] = scores.quantile(0.75) - scores.quantile(0.25)
            return stats


        score_stats = describe_scores(students["score"])
        score_stats
        """,
    "programme_summary": """
        def programme_summary(df):
            grouped = df.groupby("programme")
            table = pd.DataFrame({
                "n": grouped.size(),
                "mean_score": grouped["score"].mean(),
                "mean_hours": grouped["hours_studied"].mean(),
            })
            return table.sort_values(by="mean_score", ascending=False)


        def review_attendance(df):
            shares = pd.crosstab(df["programme"], df["attended_review"], normalize="index")
            return shares["yes"]


        programme_summary(students)
        """,
    "pearson_r": """
        def pearson_r(x, y):
            x = np.array(x, dtype=float)
            y = np.array(y, dtype=float)
            x_dev = x - np.mean(x)
            y_dev = y - np.mean(y)
            top = np.sum(x_dev * y_dev)
            bottom = np.sqrt(np.sum(x_dev ** 2)) * np.sqrt(np.sum(y_dev ** 2))
            return float(top / bottom)


        r_hours_score = pearson_r(students["hours_studied"], students["score"])
        print(r_hours_score, students["hours_studied"].corr(students["score"]))
        """,
    "welch_t": """
        def welch_t(a, b):
            a = np.array(a, dtype=float)
            b = np.array(b, dtype=float)
            na, nb = len(a), len(b)
            se2_a = np.var(a, ddof=1) / na
            se2_b = np.var(b, ddof=1) / nb
            t = (np.mean(a) - np.mean(b)) / np.sqrt(se2_a + se2_b)
            dof = (se2_a + se2_b) ** 2 / (se2_a ** 2 / (na - 1) + se2_b ** 2 / (nb - 1))
            return t, dof


        def review_effect(df):
            went = df[df["attended_review"] == "yes"]["score"]
            skipped = df[df["attended_review"] == "no"]["score"]
            t, dof = welch_t(went, skipped)
            return {"difference": went.mean() - skipped.mean(), "t": t, "significant": abs(t) > 1.96}


        effect = review_effect(students)
        effect
        """,
    "interpretation": """
        Students who study more tend to score higher: the correlation between hours studied and
        score is strong and positive (about 0.7). Those who went to the review session scored
        roughly 4 points more on average and t is about 2.05, which is just over 1.96, so the
        difference is significant at the 5% level, though not by much. This does not show the
        session caused the difference, because students chose whether to go — keener students
        who also study more could be the ones who attended.
        """,
}

STATS: dict[str, Answers] = {
    "alice": STATS_ALICE,
    # Descriptive and grouped work is right; the inference formulas mix up ddof.
    "bob": {
        "describe_scores": STATS_ALICE["describe_scores"],
        "programme_summary": STATS_ALICE["programme_summary"],
        "pearson_r": """
            def pearson_r(x, y):
                return float(np.cov(x, y)[0, 1] / (np.std(x) * np.std(y)))


            r_hours_score = pearson_r(students["hours_studied"], students["score"])
            """,
        "welch_t": """
            def welch_t(a, b):
                a = np.array(a)
                b = np.array(b)
                t = (a.mean() - b.mean()) / np.sqrt(a.var() / len(a) + b.var() / len(b))
                return t, len(a) + len(b) - 2


            def review_effect(df):
                yes = df[df.attended_review == "yes"].score
                no = df[df.attended_review == "no"].score
                t, _ = welch_t(yes, no)
                return {"difference": yes.mean() - no.mean(), "t": t, "significant": t > 1.96}
            """,
        "interpretation": "More hours means a better score and the review session works.",
    },
    # Only the centre of the distribution, then stops.
    "carol": {
        "describe_scores": """
            def describe_scores(scores):
                return {"mean": scores.mean(), "median": scores.median()}
            """,
    },
    "dave": {
        **STATS_ALICE,
        "programme_summary": """
            def programme_summary(df):
                out = df.groupby("programme").agg(
                    n=("score", "count"),
                    mean_score=("score", "mean"),
                    mean_hours=("hours_studied", "mean"),
                )
                return out.sort_values("mean_score")


            def review_attendance(df):
                shares = pd.crosstab(df["programme"], df["attended_review"], normalize="index")
                return shares["yes"]
            """,
        "welch_t": """
            def welch_t(a, b):
                a = np.array(a, dtype=float)
                b = np.array(b, dtype=float)
                t = (a.mean() - b.mean()) / np.sqrt(a.var() / len(a) + b.var() / len(b))
                return t, len(a) + len(b) - 2


            def review_effect(df):
                went = df[df["attended_review"] == "yes"]["score"]
                skipped = df[df["attended_review"] == "no"]["score"]
                t, _ = welch_t(went, skipped)
                return {"difference": went.mean() - skipped.mean(), "t": t, "significant": abs(t) > 1.96}
            """,
    },
    # Reaches for SciPy, which is not installed: describe_scores is never defined, and her
    # pearson_r calls it.
    "erin": {
        **STATS_ALICE,
        "describe_scores": """
            from scipy import stats


            def describe_scores(scores):
                q1, q3 = stats.mstats.mquantiles(scores, prob=[0.25, 0.75])
                return {"mean": scores.mean(), "median": scores.median(), "std": scores.std(),
                        "iqr": q3 - q1}


            score_stats = describe_scores(students["score"])
            score_stats
            """,
        "pearson_r": """
            def pearson_r(x, y):
                x = pd.Series(np.asarray(x, dtype=float))
                y = pd.Series(np.asarray(y, dtype=float))
                sx = describe_scores(x)["std"]
                sy = describe_scores(y)["std"]
                cov = ((x - x.mean()) * (y - y.mean())).sum() / (len(x) - 1)
                return float(cov / (sx * sy))


            r_hours_score = pearson_r(students["hours_studied"], students["score"])
            r_hours_score
            """,
    },
}


# ----------------------------------------------------------------------------------------------
# data-visualisation
# ----------------------------------------------------------------------------------------------
VIS_ALICE: Answers = {
    "plot_temperatures": """
        def plot_temperatures(df, ax=None):
            if ax is None:
                fig, ax = plt.subplots(figsize=(9, 5))
            fig = ax.get_figure()
            for city in sorted(df["city"].unique()):
                city_rows = df[df["city"] == city].sort_values("month")
                ax.plot(city_rows["month"], city_rows["mean_temp_c"], label=city)
            ax.set_xlabel("Month")
            ax.set_ylabel("Temperature (°C)")
            ax.set_title("Average monthly temperature")
            ax.legend()
            return fig, ax


        fig, ax = plot_temperatures(weather)
        """,
    "plot_annual_rainfall": """
        def plot_annual_rainfall(df, ax=None):
            if ax is None:
                fig, ax = plt.subplots()
            fig = ax.get_figure()
            yearly = df.groupby("city")["rainfall_mm"].sum()
            yearly = yearly.sort_values(ascending=False)
            ax.bar(yearly.index, yearly.values)
            ax.set_xlabel("City")
            ax.set_ylabel("Rainfall per year (mm)")
            ax.set_title("Which city is wettest?")
            return fig, ax


        fig, ax = plot_annual_rainfall(weather)
        """,
    "plot_rainfall_hist": """
        def plot_rainfall_hist(values, bins=8):
            fig, ax = plt.subplots()
            ax.hist(values, bins=bins)
            ax.set_xlabel("Rainfall in a month (mm)")
            ax.set_ylabel("Number of months")
            ax.set_title("How much rain falls in a month?")
            return fig, ax


        fig, ax = plot_rainfall_hist(weather["rainfall_mm"])
        """,
    "weather_dashboard": """
        def weather_dashboard(df):
            fig, axes = plt.subplots(nrows=1, ncols=2, figsize=(14, 5))
            plot_temperatures(df, ax=axes[0])
            plot_annual_rainfall(df, ax=axes[1])
            fig.suptitle("Weather in Avonford, Brackenridge and Corrin Bay")
            return fig


        dashboard = weather_dashboard(weather)
        """,
}

VIS: dict[str, Answers] = {
    "alice": VIS_ALICE,
    # The data is drawn correctly, but nothing is labelled and the panels are stacked untitled.
    "bob": {
        "plot_temperatures": """
            def plot_temperatures(df, ax=None):
                if ax is None:
                    fig, ax = plt.subplots()
                for city in sorted(df["city"].unique()):
                    rows = df[df["city"] == city].sort_values("month")
                    ax.plot(rows["month"], rows["mean_temp_c"], label=city)
                return ax.figure, ax
            """,
        "plot_annual_rainfall": """
            def plot_annual_rainfall(df, ax=None):
                if ax is None:
                    fig, ax = plt.subplots()
                totals = df.groupby("city")["rainfall_mm"].sum().sort_values(ascending=False)
                ax.bar(totals.index, totals)
                return ax.figure, ax
            """,
        "plot_rainfall_hist": """
            def plot_rainfall_hist(values, bins=8):
                fig, ax = plt.subplots()
                ax.hist(values, bins=bins)
                return fig, ax
            """,
        "weather_dashboard": """
            def weather_dashboard(df):
                fig, (top, bottom) = plt.subplots(2, 1)
                plot_temperatures(df, ax=top)
                plot_annual_rainfall(df, ax=bottom)
                return fig
            """,
    },
    # One line through all the data, then nothing else.
    "carol": {
        "plot_temperatures": """
            def plot_temperatures(df, ax=None):
                fig, ax = plt.subplots()
                ax.plot(df["month"], df["mean_temp_c"])
                ax.set_xlabel("Month")
                ax.set_ylabel("Temperature")
                ax.set_title("Temperatures")
                return fig, ax


            fig, ax = plot_temperatures(weather)
            """,
    },
    "dave": {
        **VIS_ALICE,
        "plot_annual_rainfall": """
            def plot_annual_rainfall(df, ax=None):
                if ax is None:
                    fig, ax = plt.subplots()
                totals = df.groupby("city")["rainfall_mm"].sum()
                ax.bar(totals.index, totals.values)
                ax.set_xlabel("City")
                ax.set_ylabel("Rainfall (mm)")
                ax.set_title("Annual rainfall")
                return ax.figure, ax
            """,
        "weather_dashboard": """
            def weather_dashboard(df):
                fig, axes = plt.subplots(1, 2, figsize=(5, 8))
                plot_temperatures(df, ax=axes[0])
                plot_annual_rainfall(df, ax=axes[1])
                fig.suptitle("Weather")
                return fig
            """,
    },
    # Asks for a style sheet that newer matplotlib no longer ships: the cell stops before
    # plot_temperatures is defined, and the dashboard needs it.
    "erin": {
        **VIS_ALICE,
        "plot_temperatures": """
            plt.style.use("seaborn")


            def plot_temperatures(df, ax=None):
                if ax is None:
                    fig, ax = plt.subplots(figsize=(9, 5))
                fig = ax.get_figure()
                for city in sorted(df["city"].unique()):
                    city_rows = df[df["city"] == city].sort_values("month")
                    ax.plot(city_rows["month"], city_rows["mean_temp_c"], label=city)
                ax.set_xlabel("Month")
                ax.set_ylabel("Temperature (°C)")
                ax.set_title("Average monthly temperature")
                ax.legend()
                return fig, ax


            fig, ax = plot_temperatures(weather)
            """,
    },
}


# ----------------------------------------------------------------------------------------------
# sql-from-python
# ----------------------------------------------------------------------------------------------
SQL_ALICE: Answers = {
    "load_library": """
        def load_library(conn):
            books = pd.read_csv("books.csv")
            members = pd.read_csv("members.csv")
            loans = pd.read_csv("loans.csv")
            books.to_sql("books", conn, index=False)
            members.to_sql("members", conn, index=False)
            loans.to_sql("loans", conn, index=False)


        load_library(conn)
        pd.read_sql("SELECT * FROM loans LIMIT 5", conn)
        """,
    "books_in_genre": """
        def books_in_genre(conn, genre):
            sql = "SELECT title, author, year FROM books WHERE genre = ? ORDER BY year, title"
            return pd.read_sql(sql, conn, params=[genre])


        books_in_genre(conn, "Science")
        """,
    "joins": """
        def open_loans(conn):
            sql = '''
            SELECT members.name AS member, books.title, loans.loan_date
            FROM loans
            INNER JOIN members ON loans.member_id = members.member_id
            INNER JOIN books ON loans.book_id = books.book_id
            WHERE loans.returned_date IS NULL
            ORDER BY loans.loan_date, books.title
            '''
            return pd.read_sql(sql, conn)


        def member_history(conn, member_id):
            sql = '''
            SELECT books.title, loans.loan_date
            FROM loans JOIN books ON loans.book_id = books.book_id
            WHERE loans.member_id = ?
            ORDER BY loans.loan_date
            '''
            return pd.read_sql(sql, conn, params=[member_id])


        open_loans(conn)
        """,
    "aggregates": """
        def loans_by_genre(conn, min_loans=1):
            sql = '''
            SELECT books.genre AS genre, COUNT(loans.loan_id) AS n_loans
            FROM loans JOIN books ON loans.book_id = books.book_id
            GROUP BY books.genre
            HAVING COUNT(loans.loan_id) >= ?
            ORDER BY n_loans DESC, genre
            '''
            return pd.read_sql(sql, conn, params=[min_loans])


        def busiest_members(conn, n=3):
            sql = '''
            SELECT members.name AS name, COUNT(*) AS n_loans
            FROM members JOIN loans ON loans.member_id = members.member_id
            GROUP BY members.member_id
            ORDER BY n_loans DESC, name
            LIMIT ?
            '''
            return pd.read_sql(sql, conn, params=[n])


        loans_by_genre(conn)
        """,
}

SQL: dict[str, Answers] = {
    "alice": SQL_ALICE,
    # Solid on single-table queries; forgets the NULL filter and counts books, not loans.
    "bob": {
        "load_library": SQL_ALICE["load_library"],
        "books_in_genre": SQL_ALICE["books_in_genre"],
        "joins": """
            def open_loans(conn):
                sql = '''
                SELECT members.name AS member, books.title, loans.loan_date
                FROM loans
                JOIN members ON loans.member_id = members.member_id
                JOIN books ON loans.book_id = books.book_id
                ORDER BY loans.loan_date
                '''
                return pd.read_sql(sql, conn)


            def member_history(conn, member_id):
                sql = '''
                SELECT books.title, loans.loan_date
                FROM loans JOIN books ON loans.book_id = books.book_id
                WHERE loans.member_id = ?
                ORDER BY loans.loan_date
                '''
                return pd.read_sql(sql, conn, params=[member_id])
            """,
        "aggregates": """
            def loans_by_genre(conn, min_loans=1):
                sql = '''
                SELECT genre, COUNT(*) AS n_loans FROM books
                GROUP BY genre HAVING COUNT(*) >= ? ORDER BY n_loans DESC
                '''
                return pd.read_sql(sql, conn, params=[min_loans])
            """,
    },
    # Loads one table and pastes the genre into the SQL text.
    "carol": {
        "load_library": """
            def load_library(conn):
                pd.read_csv("books.csv").to_sql("books", conn)


            load_library(conn)
            """,
        "books_in_genre": """
            def books_in_genre(conn, genre):
                return pd.read_sql(
                    f"SELECT title, author, year FROM books WHERE genre = '{genre}' ORDER BY year",
                    conn,
                )
            """,
    },
    "dave": {
        **SQL_ALICE,
        "books_in_genre": """
            def books_in_genre(conn, genre):
                sql = f"SELECT title, author, year FROM books WHERE genre = '{genre}' ORDER BY year, title"
                return pd.read_sql(sql, conn)
            """,
        "joins": """
            def open_loans(conn):
                sql = '''
                SELECT members.name AS member, books.title, loans.loan_date
                FROM loans
                JOIN members ON loans.member_id = members.member_id
                JOIN books ON loans.book_id = books.book_id
                ORDER BY loans.loan_date, books.title
                '''
                return pd.read_sql(sql, conn)


            def member_history(conn, member_id):
                sql = '''
                SELECT books.title, loans.loan_date
                FROM loans JOIN books ON loans.book_id = books.book_id
                WHERE loans.member_id = ?
                ORDER BY loans.loan_date
                '''
                return pd.read_sql(sql, conn, params=[member_id])
            """,
    },
    # Looks for the files in a folder that does not exist: no table is ever created, so every
    # query afterwards fails.
    "erin": {
        **SQL_ALICE,
        "load_library": """
            def load_library(conn):
                for name in ["books", "members", "loans"]:
                    frame = pd.read_csv(f"data/{name}.csv")
                    frame.to_sql(name, conn, index=False)


            load_library(conn)
            """,
    },
}


# ----------------------------------------------------------------------------------------------
ANSWERS: dict[str, dict[str, Answers]] = {
    "pandas-cleaning": CLEANING,
    "exploratory-stats": STATS,
    "data-visualisation": VIS,
    "sql-from-python": SQL,
}

# assessment -> (test cell replaced by ``assert True``, test cell cut down to one visible assert)
TAMPERING: dict[str, tuple[str, str]] = {
    "pandas-cleaning": ("test_fill_missing", "test_deduplicate"),
    "exploratory-stats": ("test_programme_summary", "test_welch_t"),
    "data-visualisation": ("test_bar_chart", "test_dashboard"),
    "sql-from-python": ("test_open_loans", "test_books_in_genre"),
}


# ----------------------------------------------------------------------------------------------
# nbgrader plumbing
# ----------------------------------------------------------------------------------------------
def write_course_config(course: Path) -> None:
    """A minimal nbgrader course rooted at ``course``."""
    course.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.ExecutePreprocessor.timeout = 60\n"
        "c.Execute.timeout = 60\n",
        encoding="utf-8",
    )


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the nbgrader command-line tool of this interpreter's environment in ``course``."""
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(bin_dir), env.get("PATH", "")])
    return subprocess.run(
        [str(bin_dir / "nbgrader"), *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def stage_source(course: Path, assessment_id: str) -> Path:
    """Copy ``assessments/<id>/source`` into the course's ``source/<id>``."""
    target = course / "source" / assessment_id
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(ASSESSMENTS / assessment_id / "source", target)
    return target


def release(course: Path, assessment_id: str) -> Path:
    """``nbgrader generate_assignment`` for one assessment; returns ``release/<id>``."""
    write_course_config(course)
    stage_source(course, assessment_id)
    proc = nbgrader(course, "generate_assignment", assessment_id, "--force")
    if proc.returncode != 0:
        raise RuntimeError(f"generate_assignment {assessment_id} failed:\n{proc.stderr}")
    return course / "release" / assessment_id


def source_notebooks(assessment_id: str) -> list[str]:
    return sorted(p.name for p in (ASSESSMENTS / assessment_id / "source").glob("*.ipynb"))


# ----------------------------------------------------------------------------------------------
# building submissions
# ----------------------------------------------------------------------------------------------
def _cells_by_id(nb: NotebookNode) -> dict[str, NotebookNode]:
    found: dict[str, NotebookNode] = {}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id:
            found[grade_id] = cell
    return found


def answer(released: NotebookNode, answers: Answers) -> NotebookNode:
    """A copy of the released notebook with ``answers`` written into its solution cells."""
    nb = copy.deepcopy(released)
    cells = _cells_by_id(nb)
    for grade_id, text in answers.items():
        cell = cells.get(grade_id)
        if cell is None or not cell.metadata["nbgrader"].get("solution"):
            raise KeyError(f"{grade_id!r} is not a solution cell")
        cell.source = _code(text)
    return nb


def tamper(nb: NotebookNode, assert_true: str, stripped: str) -> NotebookNode:
    """Dave's edits: one test made vacuous, another cut off after its first assert."""
    cells = _cells_by_id(nb)
    cells[assert_true].source = "assert True"
    kept: list[str] = []
    for line in cells[stripped].source.splitlines():
        kept.append(line)
        if line.startswith("assert"):
            break
    cells[stripped].source = "\n".join(kept)
    return nb


def learner_notebook(assessment_id: str, learner: str, released: NotebookNode) -> NotebookNode:
    answers = ANSWERS[assessment_id].get(learner, {})
    mine = {k: v for k, v in answers.items() if _belongs(released, k)}
    nb = answer(released, mine)
    if learner == "dave":
        assert_true, stripped = TAMPERING[assessment_id]
        cells = _cells_by_id(nb)
        if assert_true in cells and stripped in cells:
            nb = tamper(nb, assert_true, stripped)
    return nb


def _belongs(nb: NotebookNode, grade_id: str) -> bool:
    return grade_id in _cells_by_id(nb)


def clean_outputs(nb: NotebookNode) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None


def truncated(nb: NotebookNode) -> str:
    """Frank's file: the JSON of a complete notebook cut off part-way through."""
    text = nbformat.writes(nb)
    return text[: int(len(text) * 0.6)]


def build(assessment_id: str, out_root: Path = SAMPLES) -> list[Path]:
    """Write every learner's notebooks for one assessment; returns the files written."""
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="nbcred-release-") as tmp:
        released_dir = release(Path(tmp), assessment_id)
        for name in source_notebooks(assessment_id):
            released = nbformat.read(released_dir / name, as_version=4)
            for learner in LEARNERS:
                target = out_root / assessment_id / learner / name
                target.parent.mkdir(parents=True, exist_ok=True)
                if learner == "frank":
                    nb = learner_notebook(assessment_id, "alice", released)
                    clean_outputs(nb)
                    target.write_text(truncated(nb), encoding="utf-8")
                else:
                    nb = learner_notebook(assessment_id, learner, released)
                    clean_outputs(nb)
                    nbformat.write(nb, target)
                written.append(target)
    return written


def main(argv: Iterable[str]) -> int:
    wanted = list(argv) or sorted(ANSWERS)
    for assessment_id in wanted:
        if assessment_id not in ANSWERS:
            print(f"unknown assessment {assessment_id!r}; known: {', '.join(sorted(ANSWERS))}")
            return 2
        files = build(assessment_id)
        print(f"{assessment_id}: wrote {len(files)} notebooks")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
