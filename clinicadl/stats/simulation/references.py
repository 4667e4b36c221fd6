"""The papers that the procedures under test cite (``ProcedureUnderTest.reference``), one string each."""

from __future__ import annotations

__all__ = ["BATES", "BOUCKAERT", "BOUTHILLIER", "CLOPPER", "CONOVER", "DELONG", "EFRON", "JEFFREYS",
           "NADEAU", "STUDENT", "WILSON"]

WILSON = "Wilson E. B. (1927). JASA 22, 209-212."
CLOPPER = "Clopper C. J., Pearson E. S. (1934). Biometrika 26(4), 404-413."
JEFFREYS = "Brown L. D., Cai T. T., DasGupta A. (2001). Statistical Science 16(2), 101-133."
EFRON = "Efron B. (1987). JASA 82(397), 171-185."
DELONG = "DeLong E. R. et al. (1988). Biometrics 44(3), 837-845."
NADEAU = "Nadeau C., Bengio Y. (2003). Machine Learning 52(3), 239-281."
BOUCKAERT = "Bouckaert R. R., Frank E. (2004). PAKDD, 3-12."
BOUTHILLIER = "Bouthillier X. et al. (2021). MLSys 3."
BATES = "Bates S., Hastie T., Tibshirani R. (2023). JASA 119(546), 1434-1445."
CONOVER = "Conover W. J. (1999). Practical Nonparametric Statistics, section 3.2."
STUDENT = "Student (1908). Biometrika 6(1), 1-25."
