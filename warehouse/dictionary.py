"""The data dictionary of the published warehouse: one place for every table and
column description, in English and Arabic.

`publish()` writes these texts into the published file with `COMMENT ON`, so BI
tools (Superset, Metabase, DBeaver, Power BI through ODBC) show them; and
`docs/warehouse.md` is generated from the same texts (warehouse/dictionary_docs.py).

A test fails when a published table or column has no description here.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from vob.base.text import sql_quote

SEPARATOR = " — "  # "English text — النص العربي"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # as WAREHOUSE.md gives it ("" where the contract leaves it open)
    en: str
    ar: str

    @property
    def comment(self) -> str:
        return f"{self.en}{SEPARATOR}{self.ar}"


@dataclass(frozen=True)
class Table:
    name: str  # in schema marts
    grain: str
    en: str
    ar: str
    columns: tuple[Column, ...]
    kind: str = "monthly"  # monthly | half-year | dimension

    @property
    def comment(self) -> str:
        return f"{self.en}{SEPARATOR}{self.ar}"

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


def _dimension(code: str, en: str, ar: str, fact: str) -> Table:
    """A dimension table: a code with its Arabic and English names and a display order."""
    return Table(
        f"dim_{code}",
        code,
        f"{en} with their Arabic and English names",
        f"{ar} بأسمائها العربية والإنجليزية",
        (
            Column(code, "VARCHAR", f"Code (key of {fact}.{code})", f"الرمز (مفتاح {fact}.{code})"),
            Column("name_ar", "VARCHAR", "Arabic name, as in the VoB report", "الاسم العربي كما في تقرير صوت المستفيد"),
            Column("name_en", "VARCHAR", "English name", "الاسم الإنجليزي"),
            Column("sort_order", "INTEGER", "Display order in reports", "ترتيب العرض في التقارير"),
        ),
        kind="dimension",
    )


MONTH = Column(
    "month", "DATE", "Month (first day of the month, Asia/Riyadh)", "الشهر (اليوم الأول من الشهر بتوقيت الرياض)"
)
PLAN_COLUMNS = (  # fct_vob_half_year and corrective_plans_by_dimension
    Column("plans_total", "BIGINT", "Corrective plans", "إجمالي الخطط التصحيحية"),
    Column("plans_in_progress", "BIGINT", "Corrective plans in progress", "الخطط التصحيحية قيد التنفيذ"),
    Column("plans_implemented", "BIGINT", "Corrective plans implemented", "الخطط التصحيحية المنفذة"),
)
PERIOD = Column("period", "VARCHAR", "Half-year period, e.g. 2025-H1", "الفترة النصف سنوية، مثل 2025-H1")

BASE_TABLES: tuple[Table, ...] = (  # the monthly, half-year and dimension tables
    Table(
        "fct_channel_monthly",
        "month × channel",
        "Contacts received per month and channel (unified channels). A month appears once it has a valid "
        "record of its own in any source, with a row for every channel, 0 for a channel without valid records "
        "that month; a month whose files hold only other months' records, or never run, has no rows "
        "(see dim_month for whether it is complete)",
        "عدد التواصلات الواردة لكل شهر وقناة (القنوات الموحدة). يظهر الشهر متى كان له سجل صالح خاص به في أي "
        "مصدر، بصف لكل قناة، وقيمته 0 للقناة التي ليست لها سجلات صالحة في ذلك الشهر؛ والشهر الذي لا تحوي ملفاته "
        "إلا سجلات أشهر أخرى، أو لم يُعالج، ليست له صفوف (انظر dim_month لمعرفة اكتماله)",
        (
            MONTH,
            Column(
                "channel",
                "VARCHAR",
                "Channel code: calls, email, chat, x, sms, self_service (see dim_channel)",
                "رمز القناة: calls, email, chat, x, sms, self_service (انظر dim_channel)",
            ),
            Column(
                "contacts",
                "BIGINT",
                "Number of contacts (calls offered, e-mails, chat sessions, X interactions, "
                "SMS, self-service transactions), duplicates counted once",
                "عدد التواصلات (المكالمات الواردة، الرسائل، جلسات المحادثة، تفاعلات X، الرسائل النصية، "
                "معاملات الخدمة الذاتية)، والمكرر يُحسب مرة واحدة",
            ),
        ),
    ),
    Table(
        "fct_tickets_monthly",
        "month × snapshot",
        "CRM tickets created in each month, open and closed as each CRM snapshot sees them",
        "تذاكر نظام إدارة علاقات المستفيدين المنشأة في كل شهر، المفتوحة والمغلقة كما تظهر في كل لقطة",
        (
            Column(
                "month",
                "DATE",
                "Month the tickets were created in (first day, Asia/Riyadh)",
                "شهر إنشاء التذاكر (اليوم الأول بتوقيت الرياض)",
            ),
            Column(
                "snapshot_date",
                "DATE",
                "Date of the CRM snapshot the statuses are read from",
                "تاريخ لقطة نظام إدارة علاقات المستفيدين التي قُرئت منها الحالات",
            ),
            Column("tickets_total", "BIGINT", "Tickets created in the month", "إجمالي التذاكر المنشأة في الشهر"),
            Column(
                "tickets_open",
                "BIGINT",
                "Of those, open at the snapshot (new, in progress, pending)",
                "منها المفتوحة عند اللقطة (جديدة، قيد المعالجة، معلقة)",
            ),
            Column(
                "tickets_closed",
                "BIGINT",
                "Of those, closed at the snapshot (resolved, closed)",
                "منها المغلقة عند اللقطة (تم الحل، مغلقة)",
            ),
        ),
    ),
    Table(
        "fct_vob_half_year",
        "half-year",
        "Voice of the Beneficiary figures of a half-year: beneficiaries, notes and corrective plans",
        "مؤشرات صوت المستفيد لنصف السنة: المستفيدون والملاحظات والخطط التصحيحية",
        (
            PERIOD,
            Column(
                "beneficiaries",
                "BIGINT",
                "Distinct beneficiaries who created a CRM ticket in the half-year "
                "(latest snapshot) or appear on one of its feedback notes (counted on a keyed hash, never on "
                "the id itself)",
                "عدد المستفيدين المميزين الذين أنشؤوا تذكرة في نصف السنة (آخر لقطة) أو وردوا في "
                "إحدى ملاحظاته (يُحسب على قيمة مُجزّأة بمفتاح، لا على الهوية نفسها)",
            ),
            Column(
                "notes",
                "BIGINT",
                "Notes (observations) recorded in the VoB registers",
                "عدد الملاحظات المسجلة في سجلات صوت المستفيد",
            ),
            *PLAN_COLUMNS,
            Column(
                "ticket_beneficiaries",
                "BIGINT",
                "Of the beneficiaries, those found on the half-year's tickets",
                "من المستفيدين: من وردوا في تذاكر نصف السنة",
            ),
            Column(
                "note_beneficiaries",
                "BIGINT",
                "Of the beneficiaries, those found on the half-year's notes",
                "من المستفيدين: من وردوا في ملاحظات نصف السنة",
            ),
            Column(
                "ticket_snapshot_date",
                "DATE",
                "CRM snapshot the tickets were counted from",
                "لقطة نظام إدارة علاقات العملاء التي عُدّت منها التذاكر",
            ),
        ),
        kind="half-year",
    ),
    Table(
        "corrective_plans_by_dimension",
        "half-year × dimension",
        "Corrective plans of a half-year per Adaa dimension, by status",
        "الخطط التصحيحية لنصف السنة حسب بُعد أداء وحالتها",
        (
            PERIOD,
            Column("dimension", "VARCHAR", "Dimension code (see dim_dimension)", "رمز البُعد (انظر dim_dimension)"),
            *PLAN_COLUMNS,
        ),
        kind="half-year",
    ),
    Table(
        "fct_feedback_dimension_half_year",
        "half-year × dimension",
        "Feedback tags per Adaa dimension in a half-year, with each dimension's share",
        "وسوم الملاحظات لكل بُعد من أبعاد أداء في نصف السنة، مع نسبة كل بُعد",
        (
            PERIOD,
            Column(
                "dimension",
                "VARCHAR",
                "Dimension code: speed, outputs, procedures, technology, employees (see dim_dimension)",
                "رمز البُعد: speed, outputs, procedures, technology, employees (انظر dim_dimension)",
            ),
            Column("tags", "BIGINT", "Feedback tags of the dimension", "عدد وسوم الملاحظات في هذا البُعد"),
            Column(
                "share_pct",
                "DECIMAL(5,2)",
                "Share of the half-year's tags, in percent",
                "النسبة المئوية من إجمالي وسوم نصف السنة",
            ),
        ),
        kind="half-year",
    ),
    _dimension("channel", "The six contact channels", "قنوات التواصل الست", "fct_channel_monthly"),
    Table(
        "dim_month",
        "month",
        "The published months, each complete or in progress: a month in progress is shown with the last day "
        "whose contacts are all in, never as a finished month",
        "الأشهر المنشورة، كل منها مكتمل أو قيد الاكتمال: يُعرض الشهر قيد الاكتمال مع آخر يوم اكتملت تواصلاته، "
        "ولا يُعرض أبدًا كشهر منتهٍ",
        (
            MONTH,
            Column(
                "status",
                "VARCHAR",
                "complete (data through the month's last day and the month's X, SMS and self-service files read) "
                "or in_progress",
                "complete (مكتمل: البيانات حتى آخر يوم في الشهر وقُرئت ملفات X والرسائل النصية والخدمة الذاتية "
                "للشهر) أو in_progress (قيد الاكتمال)",
            ),
            Column(
                "data_through",
                "DATE",
                "Last day of the month whose contacts are all in: the latest export date through which calls, "
                "e-mail and chat each have a file for every day of the month, minus VOB_EXPORT_LAG_DAYS (the "
                "day before the month's first when its first day has none)",
                "آخر يوم في الشهر اكتملت تواصلاته: آخر تاريخ تصدير تتوفر حتى الآن ملفات المكالمات والبريد "
                "والمحادثة لكل يوم من الشهر حتى ذلك التاريخ، مطروحًا منه VOB_EXPORT_LAG_DAYS (واليوم السابق لأول "
                "الشهر إذا لم يتوفر ملف ليومه الأول)",
            ),
            Column(
                "name_ar",
                "VARCHAR",
                "Arabic name of the month and its year, as in the VoB report",
                "اسم الشهر بالعربية، مثل مارس 2025",
            ),
            Column(
                "name_en",
                "VARCHAR",
                "English name of the month, e.g. March 2025",
                "اسم الشهر بالإنجليزية، مثل March 2025",
            ),
        ),
        kind="dimension",
    ),
    _dimension(
        "dimension",
        "The five Adaa feedback dimensions",
        "أبعاد أداء الخمسة للملاحظات",
        "fct_feedback_dimension_half_year",
    ),
    Table(
        "e_participations",
        "participation",
        "E-participation activities of a half-year (consultations, surveys, workshops) with their links",
        "أنشطة المشاركة الإلكترونية في نصف السنة (استشارات، استبيانات، ورش عمل) مع روابطها",
        (
            PERIOD,
            Column("title", "", "Title of the participation", "عنوان المشاركة"),
            Column(
                "kind",
                "",
                "Kind of participation: consultation or co_creation",
                "نوع المشاركة: استشارة (consultation) أو ابتكار مشترك (co_creation)",
            ),
            Column("target_group", "", "Target group", "الفئة المستهدفة"),
            Column("channel", "", "Channel or platform used", "القناة أو المنصة المستخدمة"),
            Column("month", "", "Month of the participation", "شهر المشاركة"),
            Column("url", "", "Public link", "الرابط العام"),
            Column("sort_order", "INTEGER", "Order in the register and the report", "الترتيب في السجل والتقرير"),
        ),
        kind="half-year",
    ),
    Table(
        "improvement_actions",
        "action",
        "Improvement actions taken in a half-year in response to beneficiaries' feedback",
        "إجراءات التحسين المتخذة في نصف السنة استجابةً لملاحظات المستفيدين",
        (
            PERIOD,
            Column("action_no", "", "Action number within the period", "رقم الإجراء ضمن الفترة"),
            Column("title", "", "Title of the action", "عنوان الإجراء"),
            Column("description", "", "What was done", "وصف ما تم تنفيذه"),
            Column("plan_id", "", "Corrective plan the action implements", "الخطة التصحيحية التي ينفذها الإجراء"),
        ),
        kind="half-year",
    ),
)

# ---------------------------------------------------------------- service KPIs and figure sources (issue 14)

SNAPSHOT = Column(
    "snapshot_date",
    "DATE",
    "Date of the CRM snapshot the tickets are read from",
    "تاريخ لقطة نظام إدارة علاقات المستفيدين التي قُرئت منها التذاكر",
)
ROUNDING_EN = "exact ratio, rounded half away from zero"
ROUNDING_AR = "نسبة دقيقة مقرّبة بعيدًا عن الصفر"
SERVICE_TABLES: tuple[Table, ...] = (
    Table(
        "fct_calls_service_monthly",
        "month × queue",
        "Contact-centre call KPIs per month and queue, plus one row `all` for every call of the month: the same "
        "de-duplicated calls as fct_channel_monthly. Rates and averages over zero calls are NULL",
        "مؤشرات خدمة المكالمات لكل شهر وطابور، مع صف `all` لجميع مكالمات الشهر: المكالمات نفسها بعد إزالة "
        "التكرار كما في fct_channel_monthly. النسب والمتوسطات على صفر مكالمات فارغة (NULL)",
        (
            MONTH,
            Column(
                "queue",
                "VARCHAR",
                "Queue of the call detail record; `unknown` when empty; `all` for every call",
                "طابور المكالمة في سجل المكالمات؛ `unknown` إذا كان فارغًا؛ `all` لجميع المكالمات",
            ),
            Column(
                "offered",
                "BIGINT",
                "Calls offered in the month (for `all`, the calls contacts of fct_channel_monthly)",
                "المكالمات الواردة في الشهر (لصف `all` تساوي مكالمات fct_channel_monthly)",
            ),
            Column("answered", "BIGINT", "Calls with disposition answered", "المكالمات التي تم الرد عليها"),
            Column("abandoned", "BIGINT", "Calls with disposition abandoned", "المكالمات المتروكة قبل الرد"),
            Column(
                "abandon_rate_pct",
                "DECIMAL(5,2)",
                f"Abandoned ÷ offered × 100 ({ROUNDING_EN}, 2 decimals)",
                f"نسبة المكالمات المتروكة: المتروكة ÷ الواردة × 100 ({ROUNDING_AR}، منزلتان عشريتان)",
            ),
            Column(
                "service_level_20s_pct",
                "DECIMAL(5,2)",
                f"Calls answered within 20 seconds (20 s included) ÷ offered × 100 ({ROUNDING_EN}, 2 decimals)",
                f"مستوى الخدمة: المكالمات المجابة خلال 20 ثانية (تشمل 20) ÷ الواردة × 100 ({ROUNDING_AR})",
            ),
            Column(
                "avg_wait_s",
                "DECIMAL(9,1)",
                "Average wait of answered calls in seconds (answered_at − offered_at)",
                "متوسط الانتظار للمكالمات المجابة بالثواني (وقت الرد − وقت الورود)",
            ),
            Column(
                "p90_wait_s",
                "DECIMAL(9,1)",
                "90th percentile of the wait of answered calls in seconds (quantile_cont on the unrounded waits)",
                "المئين التسعون لانتظار المكالمات المجابة بالثواني (quantile_cont على القيم غير المقربة)",
            ),
            Column(
                "avg_handle_s",
                "DECIMAL(9,1)",
                "Average handle time in seconds (ended_at − answered_at) of answered calls with an end time",
                "متوسط مدة المعالجة بالثواني (وقت الانتهاء − وقت الرد) للمكالمات المجابة التي لها وقت انتهاء",
            ),
        ),
    ),
    Table(
        "fct_chat_service_monthly",
        "month × entry point",
        "Live-chat KPIs per month and entry point, plus one row `all` for every session of the month: the same "
        "de-duplicated sessions as fct_channel_monthly",
        "مؤشرات خدمة المحادثة المباشرة لكل شهر ونقطة دخول، مع صف `all` لجميع جلسات الشهر: الجلسات نفسها بعد "
        "إزالة التكرار كما في fct_channel_monthly",
        (
            MONTH,
            Column(
                "entry_point",
                "VARCHAR",
                "Entry point: web, app; `unknown` when empty; `all` for every session",
                "نقطة الدخول: web أو app؛ `unknown` إذا كانت فارغة؛ `all` لجميع الجلسات",
            ),
            Column(
                "sessions",
                "BIGINT",
                "Chat sessions started in the month (for `all`, the chat contacts)",
                "جلسات المحادثة التي بدأت في الشهر (لصف `all` تساوي تواصلات المحادثة)",
            ),
            Column("rated", "BIGINT", "Sessions with a rating", "الجلسات التي لها تقييم"),
            Column(
                "avg_rating",
                "DECIMAL(3,2)",
                f"Average rating (1–5) of rated sessions ({ROUNDING_EN}, 2 decimals)",
                f"متوسط التقييم (1–5) للجلسات المقيّمة ({ROUNDING_AR}، منزلتان عشريتان)",
            ),
            Column(
                "p50_duration_s",
                "DECIMAL(9,1)",
                "Median session duration in seconds (ended_at − started_at) of sessions with an end time",
                "الوسيط لمدة الجلسة بالثواني (وقت الانتهاء − وقت البدء) للجلسات التي لها وقت انتهاء",
            ),
        ),
    ),
    Table(
        "fct_ticket_resolution_monthly",
        "month closed × snapshot",
        "CRM tickets closed in each month (Riyadh month of closed_at) as each snapshot sees them, whatever month "
        "they were created in, with hours to close; a row for every run month and snapshot, 0 when none closed",
        "تذاكر نظام إدارة علاقات المستفيدين المغلقة في كل شهر (شهر وقت الإغلاق بتوقيت الرياض) كما تظهر في كل "
        "لقطة، أيًّا كان شهر إنشائها، مع ساعات الإغلاق؛ صف لكل شهر ولقطة، وقيمته 0 إذا لم تُغلق تذاكر",
        (
            Column(
                "month",
                "DATE",
                "Month the tickets were closed in (first day, Asia/Riyadh)",
                "شهر إغلاق التذاكر (اليوم الأول بتوقيت الرياض)",
            ),
            SNAPSHOT,
            Column(
                "closed",
                "BIGINT",
                "Tickets closed in that snapshot whose closed_at falls in the month",
                "التذاكر المغلقة في اللقطة ووقت إغلاقها في الشهر",
            ),
            Column(
                "p50_hours_to_close",
                "DECIMAL(9,1)",
                "Median hours from created_at to closed_at (NULL when none closed)",
                "الوسيط لعدد الساعات من الإنشاء إلى الإغلاق (فارغ إذا لم تُغلق تذاكر)",
            ),
            Column(
                "p90_hours_to_close",
                "DECIMAL(9,1)",
                "90th percentile of the hours from created_at to closed_at",
                "المئين التسعون لعدد الساعات من الإنشاء إلى الإغلاق",
            ),
        ),
    ),
    Table(
        "fct_ticket_backlog",
        "snapshot × age band",
        "Open CRM tickets of each snapshot by age: whole days from the Riyadh date of created_at to the snapshot "
        "date; every band has a row, 0 included",
        "التذاكر المفتوحة في كل لقطة حسب عمرها: الأيام الكاملة من تاريخ الإنشاء بتوقيت الرياض إلى تاريخ اللقطة؛ "
        "لكل فئة صف، ولو كانت 0",
        (
            SNAPSHOT,
            Column(
                "age_band",
                "VARCHAR",
                "Age band: 0-7d, 8-30d, 31-90d, >90d (7 days is 0-7d, 8 is 8-30d)",
                "فئة العمر: 0-7d و8-30d و31-90d و>90d (7 أيام ضمن 0-7d، و8 ضمن 8-30d)",
            ),
            Column(
                "open_tickets",
                "BIGINT",
                "Tickets open in the snapshot (new, in progress, pending)",
                "التذاكر المفتوحة في اللقطة (جديدة، قيد المعالجة، معلقة)",
            ),
            Column("sort_order", "INTEGER", "Display order of the band", "ترتيب عرض الفئة"),
        ),
    ),
    Table(
        "figure_sources",
        "published figure × landing file",
        "Where every published figure comes from: for each figure of fct_channel_monthly and each ticket figure "
        "of fct_tickets_monthly, every landing file its month read, with what the file read, rejected and gave "
        "to the figure; the files add up to the figure (`vob explain`)",
        "مصدر كل رقم منشور: لكل رقم في fct_channel_monthly ولكل رقم تذاكر في fct_tickets_monthly، كل ملف وارد "
        "قرأه شهره، مع ما قرأه الملف وما رُفض منه وما أسهم به في الرقم؛ ومجموع الملفات يساوي الرقم (`vob explain`)",
        (
            Column(
                "table_name",
                "VARCHAR",
                "Table of the figure: fct_channel_monthly or fct_tickets_monthly",
                "جدول الرقم: fct_channel_monthly أو fct_tickets_monthly",
            ),
            Column(
                "figure_key",
                "VARCHAR",
                "The figure's grain joined by |: 2025-03|calls, or 2025-03|2025-07-01|tickets_open for tickets",
                "مفاتيح الرقم مفصولة بـ |: 2025-03|calls، أو 2025-03|2025-07-01|tickets_open للتذاكر",
            ),
            Column("figure_value", "BIGINT", "The published figure", "الرقم المنشور"),
            Column(
                "file",
                "VARCHAR",
                "Landing file, relative to the landing root",
                "ملف البيانات الواردة، نسبةً إلى مجلد الاستلام",
            ),
            Column("rows_read", "BIGINT", "Rows the file held (the whole file)", "عدد صفوف الملف كاملًا"),
            Column(
                "rows_rejected",
                "BIGINT",
                "Rows of the file rejected as breaking the landing contract",
                "صفوف الملف المرفوضة لمخالفتها عقد البيانات الواردة",
            ),
            Column(
                "counted",
                "BIGINT",
                "What the file gives to the figure: its records counted (each record in the "
                "one file whose row won the de-duplication), or for X, SMS and self-service the sum of its counts; "
                "0 for a file read that gave nothing",
                "ما يسهم به الملف في الرقم: سجلاته المحسوبة (كل سجل في "
                "ملف واحد هو الذي اعتُمد صفه بعد إزالة التكرار)، أو مجموع أعداده لمنصة X والرسائل النصية "
                "والخدمة الذاتية؛ و0 لملف قُرئ ولم يسهم بشيء",
            ),
            Column(
                "month", "DATE", "Month of the figure (first day, Asia/Riyadh)", "شهر الرقم (اليوم الأول بتوقيت الرياض)"
            ),
        ),
    ),
)
TABLES = BASE_TABLES + SERVICE_TABLES  # every published table, in the docs' order

BY_NAME = {t.name: t for t in TABLES}
SCHEMA = "marts"
SCHEMA_COMMENT = (
    "Published Voice of the Beneficiary marts (read-only for BI tools)"
    f"{SEPARATOR}مؤشرات صوت المستفيد المنشورة (للقراءة فقط لأدوات ذكاء الأعمال)"
)


def undocumented(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    """Tables and columns of `catalog`.marts that this dictionary does not describe."""
    missing = []
    for table, column in con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = $d AND schema_name = $s "
        "ORDER BY table_name, column_index",
        {"d": catalog, "s": SCHEMA},
    ).fetchall():
        described = BY_NAME.get(table)
        if described is None:
            missing.append(f"{SCHEMA}.{table}")
        elif described.column(column) is None:
            missing.append(f"{SCHEMA}.{table}.{column}")
    return sorted(set(missing))


def apply_comments(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    """COMMENT ON every described table and column present in `catalog`.marts.
    Returns what is present but not described (to report; a test keeps it empty)."""
    present = {
        (t, c)
        for t, c in con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = $d AND schema_name = $s",
            {"d": catalog, "s": SCHEMA},
        ).fetchall()
    }
    tables = {t for t, _ in present}
    for table in TABLES:
        if table.name not in tables:
            continue  # built by an asset this code location does not (yet) have
        con.execute(f"COMMENT ON TABLE {catalog}.{SCHEMA}.{table.name} IS {sql_quote(table.comment)}")
        for column in table.columns:
            if (table.name, column.name) in present:
                con.execute(
                    f"COMMENT ON COLUMN {catalog}.{SCHEMA}.{table.name}.{column.name} IS {sql_quote(column.comment)}"
                )
    return undocumented(con, catalog)
