local function s(x) return string.format('%.0f', x) end
