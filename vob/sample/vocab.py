"""The words of the sample: queue names, mailboxes, subjects, codes, Arabic texts.

Weights are relative and normalised where they are used.
"""

from __future__ import annotations

from vob.landing.registers import DIMENSION_CODES

# --- calls ---------------------------------------------------------------
CALL_QUEUES = (
    "najiz_support",
    "enforcement",
    "court_sessions",
    "notarization",
    "personal_status",
    "complaints",
    "english_line",
)
CALL_QUEUE_WEIGHTS = (0.34, 0.18, 0.15, 0.12, 0.10, 0.07, 0.04)
# Agents on shift per month, relative to January (1..12): Ramadan's short shifts (March) and the
# Eid leave (April) lengthen the waits; the May intake of new agents shortens them.
CALL_STAFFING = (1.00, 0.93, 0.80, 0.87, 1.08, 0.96, 0.86, 0.90, 0.98, 1.00, 1.02, 0.95)
# How long a call or chat takes per month, relative to January (1..12): the case mix changes
# (enforcement notices in April, shorter Ramadan conversations in March).
HANDLE_FACTOR = (1.00, 1.03, 0.93, 1.08, 0.98, 1.02, 0.97, 1.00, 1.04, 1.01, 0.99, 1.05)
# Added by the telephony vendor in spring: the agent's wrap-up code (not in the contract).
WRAP_UP_CODES = ("INQ-GEN", "INQ-CASE", "CMP-REG", "TECH-NAJIZ", "TRF-2ND", "CB-REQ")
WRAP_UP_WEIGHTS = (0.38, 0.27, 0.08, 0.14, 0.08, 0.05)

# --- email ---------------------------------------------------------------
MAIL_DOMAIN = "mail.moj.gov.sa"
MAILBOXES = ("info", "najiz-support", "complaints", "enforcement", "appointments")
MAILBOX_WEIGHTS = (0.35, 0.30, 0.15, 0.10, 0.10)
ARABIC_MAIL_SHARE = 0.88

FIRST_NAMES_LATIN = (
    "abdullah", "mohammed", "fahad", "khalid", "saud", "turki", "faisal", "nasser",
    "sultan", "omar", "ahmed", "yousef", "ibrahim", "majed", "nawaf", "bandar",
    "noura", "sara", "reem", "haya", "lama", "maha", "amal", "hessa", "asma",
    "mona", "hind", "dalal", "shahad", "ghada", "latifa", "manal",
)  # fmt: skip
FAMILY_NAMES_LATIN = (
    "alqahtani", "alotaibi", "alghamdi", "alzahrani", "alshehri", "aldosari",
    "almutairi", "alharbi", "alanazi", "alshammari", "alsubaie", "aljohani",
    "alyami", "alasmari", "alomari", "alrashidi", "alenezi", "albalawi",
    "alsaud", "alhajri", "alkhaldi", "almalki", "alsulami", "alamri",
)  # fmt: skip
MAIL_DOMAINS = ("gmail.com", "hotmail.com", "outlook.com", "yahoo.com", "icloud.com", "outlook.sa")
MAIL_DOMAIN_WEIGHTS = (0.52, 0.18, 0.12, 0.08, 0.07, 0.03)

SUBJECTS_AR = (
    "استفسار عن موعد جلسة في المحكمة العامة",
    "طلب تحديث بيانات صك عبر ناجز",
    "مشكلة في تسجيل الدخول إلى منصة ناجز",
    "تأخر تنفيذ حكم لدى محكمة التنفيذ",
    "طلب حجز موعد لدى كتابة العدل",
    "استفسار عن حالة طلب التنفيذ",
    "شكوى بخصوص تأخر إصدار الصك",
    "طلب إلغاء وكالة إلكترونية",
    "استفسار عن خدمة حصر الورثة",
    "عدم وصول رمز التحقق لخدمات ناجز",
    "طلب تعديل صحيفة الدعوى",
    "استفسار عن رسوم خدمات التوثيق",
    "اقتراح لتحسين خدمة المواعيد الإلكترونية",
    "شكر وتقدير لموظفي المحكمة",
    "طلب نسخة من الحكم الصادر",
    "استفسار عن إجراءات النفقة والحضانة",
    "تعذر رفع المستندات في طلب التنفيذ",
    "إثبات سداد مبلغ التنفيذ خارج المحكمة",
    "طلب إيقاف الخدمات بعد السداد",
    "استفسار عن عقد الزواج الإلكتروني",
)  # fmt: skip
SUBJECTS_EN = (
    "Inquiry about a court hearing date",
    "Unable to log in to Najiz",
    "Request to update a power of attorney",
    "Status of my enforcement request",
    "Appointment booking at the notary office",
    "Verification code not received",
    "Request for a copy of the judgment",
)
REPLY_PREFIX_AR = ("رد: ", "إعادة توجيه: ")
REPLY_PREFIX_EN = ("RE: ", "FW: ")
REPLY_SHARE = 0.12
REFERENCE_SHARE = 0.25  # subjects ending in a request number
REFERENCE_AR = " - طلب رقم "
REFERENCE_EN = " - request no. "

# --- chat ----------------------------------------------------------------
CHAT_AGENTS = 64
CHAT_APP_SHARE = 0.6
CHAT_UNASSIGNED_SHARE = 0.06  # visitor left before an agent joined: agent_id null
CHAT_RATED_SHARE = 0.55
CHAT_RATING_WEIGHTS = (0.06, 0.04, 0.10, 0.22, 0.58)  # 1..5

# --- daily counts --------------------------------------------------------
X_CATEGORIES = ("mention", "reply", "direct_message")
X_CATEGORY_WEIGHTS = (0.55, 0.30, 0.15)
SMS_CODES = ("APPT-REM", "HEARING-NTF", "CASE-UPD", "ENF-NTF", "DEED-ISS", "POA-ISS")
SMS_CODE_WEIGHTS = (0.24, 0.22, 0.20, 0.16, 0.10, 0.08)
SELF_SERVICE_TYPES = (
    "case_status_inquiry",
    "appointment_booking",
    "deed_verification",
    "poa_verification",
    "enforcement_status",
    "judgment_download",
)
SELF_SERVICE_WEIGHTS = (0.28, 0.20, 0.16, 0.14, 0.13, 0.09)

# --- CRM -----------------------------------------------------------------
TICKET_CHANNELS = ("calls", "self_service", "chat", "email", "x")
TICKET_CHANNEL_WEIGHTS = (0.55, 0.20, 0.10, 0.10, 0.05)
TICKET_CATEGORIES = (
    "inquiry",
    "complaint",
    "technical_issue",
    "service_request",
    "suggestion",
    "compliment",
)
TICKET_CATEGORY_WEIGHTS = (0.38, 0.26, 0.16, 0.12, 0.05, 0.03)

# --- registers -----------------------------------------------------------
DIMENSIONS = DIMENSION_CODES  # the Adaa dimensions, owned by the registers reader

NOTE_SUMMARIES = {
    "speed": (
        "تأخر تنفيذ طلب التنفيذ لأكثر من شهر",
        "طول مدة انتظار تحديد موعد الجلسة",
        "بطء معالجة طلب تحديث الصك",
        "تأخر الرد على التذكرة المرفوعة عبر ناجز",
        "تأخر إصدار صك حصر الورثة",
    ),
    "outputs": (
        "خطأ في بيانات الصك الصادر",
        "عدم وضوح نص الحكم المرسل إلكترونياً",
        "الوثيقة الصادرة لا تتضمن جميع الورثة",
        "عدم دقة الإشعار المرسل بخصوص موعد الجلسة",
    ),
    "procedures": (
        "تعدد الإجراءات المطلوبة لإلغاء الوكالة",
        "اشتراط المراجعة الحضورية رغم توفر الخدمة إلكترونياً",
        "عدم وضوح خطوات تقديم طلب التنفيذ",
    ),
    "technology": (
        "تعطل منصة ناجز أثناء رفع المستندات",
        "عدم وصول رمز التحقق عند تسجيل الدخول",
        "تعذر إلغاء صحيفة الدعوى بعد تقديمها",
        "ظهور رسالة خطأ عند إدخال رقم الصك",
    ),
    "employees": (
        "تعامل غير لائق من موظف خدمة العملاء",
        "عدم تمكن الموظف من الإجابة على الاستفسار",
        "شكر للموظف على حسن التعامل وسرعة الإنجاز",
    ),
}

PLAN_TITLES = {
    "speed": (
        "تقليص مدة معالجة طلبات التنفيذ",
        "أتمتة توزيع التذاكر على الفرق المختصة",
        "رفع الطاقة الاستيعابية لمواعيد الجلسات",
        "تسريع إصدار صكوك حصر الورثة",
        "تقليص زمن الانتظار في مركز الاتصال",
    ),
    "outputs": (
        "مراجعة جودة بيانات الصكوك الصادرة",
        "توحيد نماذج الإشعارات المرسلة للمستفيدين",
        "تحسين صياغة الأحكام المرسلة إلكترونياً",
    ),
    "procedures": (
        "تبسيط إجراءات إلغاء الوكالات",
        "إعادة هندسة إجراءات تقديم طلب التنفيذ",
        "إلغاء اشتراط المراجعة الحضورية للخدمات الإلكترونية",
    ),
    "technology": (
        "تحسين استقرار منصة ناجز في أوقات الذروة",
        "معالجة تأخر وصول رموز التحقق",
        "تحسين رفع المستندات في تطبيق ناجز",
    ),
    "employees": (
        "برنامج تدريبي لموظفي مركز الاتصال",
        "تحديث دليل الردود المعتمدة لموظفي خدمة العملاء",
        "قياس رضا المستفيدين عن تعامل الموظفين",
    ),
}
PLAN_UNITS = (
    "المحاكم العامة",
    "محاكم التنفيذ",
    "كتابات العدل",
    "مركز الاتصال الموحد",
    "منصة ناجز",
    "محاكم الأحوال الشخصية",
)

# The four improvement actions: the plan each came from (dimension, title) and
# a description of what was done and the evidence kept.
ACTION_PLANS = (
    ("procedures", "تمكين المستفيد من إلغاء صحيفة الدعوى قبل قيدها"),
    ("technology", "إضافة عداد الورثة في خدمة رقمنة صكوك حصر الورثة"),
    ("procedures", "إثبات السداد خارج المحكمة في خدمات التنفيذ"),
    ("outputs", "إرشاد المستفيد إلى إدخال رقم الصك الصحيح"),
)
ACTION_DESCRIPTIONS = (
    "تمكين المستفيد من إلغاء صحيفة الدعوى بنفسه عبر منصة ناجز قبل قيدها إذا اكتشف خطأ أو نقصاً "
    "في البيانات، بدلاً من انتظار رفضها وإعادة تقديمها. الدليل: عينة من تذاكر ناجز تطلب الإلغاء، "
    "وإطلاق الخاصية في المنصة.",
    "إضافة عداد للورثة في خدمة رقمنة صكوك حصر الورثة، فلا يتمكن المستفيد من إنهاء إجراءات الطلب "
    "حتى يدخل بيانات العدد المحدد من الورثة بشكل كامل، لرفع جودة الخدمة وتقليل نقص البيانات عند "
    "إصدار الوثيقة.",
    "إضافة خدمة إثبات سداد في التنفيذ عند سداد المنفذ ضده خارج المحكمة، وهو إجراء استباقي للحد من "
    "منازعات التنفيذ. الدليل: ملاحظات المستفيدين في الاستبيانات وإطلاق الخدمة.",
    "توعية المستفيد بالآلية الصحيحة لإدخال رقم الصك المطلوب تحديثه برسائل إرشادية داخل الخدمة، "
    "للتقليل من أخطاء الإدخال وإعادة الطلب للمستفيد.",
)
