#pragma once
int parse_value(int x);
int parse_or_default(int x);
int scaled(int x);
