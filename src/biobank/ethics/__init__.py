"""Research ethics: the IRB (人體研究倫理審查委員會) area, its audit criteria and their rules."""
