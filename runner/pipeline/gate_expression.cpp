// Gate rules: a hand-written lexer, a recursive-descent parser that checks types as it
// builds the tree, and an evaluator that fails closed on anything doubtful.
#include "runner/pipeline/gate_expression.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <expected>
#include <map>
#include <set>
#include <system_error>

#include "runner/util/suggest.hpp"

namespace sluice::pipeline {

namespace gate_expression_detail {

enum class NodeKind {
    number,
    name,
    negate,
    arithmetic,  // children joined by + - (or * /), left to right
    comparison,  // exactly two children
    logical_not,
    logical_and,  // two or more children
    logical_or,   // two or more children
    call,         // abs, min, max
};

enum class Op {
    add,
    subtract,
    multiply,
    divide,
    less,
    less_equal,
    greater,
    greater_equal,
    equal,
    not_equal
};

struct Node {
    NodeKind kind = NodeKind::number;
    double number = 0;  // NodeKind::number
    std::string name;   // NodeKind::name: the metric; NodeKind::call: the function
    std::vector<Node> children;
    std::vector<Op> ops;    // arithmetic: ops[i] joins children[i] and children[i + 1];
                            // comparison: ops[0]
    std::size_t begin = 0;  // bytes of the source, parentheses included
    std::size_t end = 0;
};

}  // namespace gate_expression_detail

namespace {

using gate_expression_detail::Node;
using gate_expression_detail::NodeKind;
using gate_expression_detail::Op;

constexpr std::array<std::string_view, 3> k_functions{"abs", "min", "max"};
constexpr std::size_t k_max_quote = 60;

// ---------------------------------------------------------------------------------------
// Characters and positions

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool starts_name(char c) { return is_letter(c) || c == '_'; }
bool is_name_char(char c) { return is_letter(c) || is_digit(c) || c == '_'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// 1-based column in characters (UTF-8 continuation bytes do not count).
int column_of(std::string_view text, std::size_t offset) {
    int column = 1;
    for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
        if (!is_continuation(text[i])) ++column;
    }
    return column;
}

util::Error error_at(std::string_view text, std::size_t offset, std::string message) {
    return util::Error{util::ErrorCode::bad_input, std::move(message),
                       util::Location{"", 0, column_of(text, offset)}};
}

// A piece of the rule for a message, shortened when long.
std::string quote(std::string_view source, std::size_t begin, std::size_t end) {
    std::string_view piece = source.substr(begin, end - begin);
    if (piece.size() <= k_max_quote) return "`" + std::string(piece) + "`";
    std::size_t cut = k_max_quote;
    while (cut > 0 && is_continuation(piece[cut])) --cut;
    return "`" + std::string(piece.substr(0, cut)) + "...`";
}

// "character `$`", "character `é`" or "byte 0x01", for a character the lexer does not know.
std::string describe_character(std::string_view text, std::size_t i) {
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte > 0x20 && byte < 0x7F) return "character `" + std::string(1, text[i]) + "`";
    std::size_t length = byte >= 0xF0 && byte <= 0xF4   ? 4
                         : byte >= 0xE0 && byte <= 0xEF ? 3
                         : byte >= 0xC2 && byte <= 0xDF ? 2
                                                        : 0;
    if (length > 0 && i + length <= text.size()) {
        bool valid = true;
        for (std::size_t k = 1; k < length; ++k) valid = valid && is_continuation(text[i + k]);
        if (valid) return "character `" + std::string(text.substr(i, length)) + "`";
    }
    std::array<char, 16> buffer{};
    std::snprintf(buffer.data(), buffer.size(), "byte 0x%02X", static_cast<unsigned>(byte));
    return buffer.data();
}

// ---------------------------------------------------------------------------------------
// Lexer

enum class Tok {
    number,
    name,
    left_paren,
    right_paren,
    comma,
    plus,
    minus,
    star,
    slash,
    less,
    less_equal,
    greater,
    greater_equal,
    equal,
    not_equal,
    keyword_and,
    keyword_or,
    keyword_not,
    end,
};

struct Token {
    Tok kind = Tok::end;
    std::size_t begin = 0;
    std::size_t end = 0;
    double number = 0;
};

std::expected<Token, util::Error> lex_number(std::string_view text, std::size_t start) {
    std::size_t i = start;
    const std::size_t n = text.size();
    while (i < n && is_digit(text[i])) ++i;
    if (i < n && text[i] == '.') {
        ++i;
        while (i < n && is_digit(text[i])) ++i;
    }
    if (i < n && (text[i] == 'e' || text[i] == 'E')) {
        std::size_t e = i++;
        if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
        if (i >= n || !is_digit(text[i])) {
            return std::unexpected(error_at(text, e,
                                            "malformed number " + quote(text, start, i) +
                                                ": expected digits after `" +
                                                std::string(1, text[e]) + "`"));
        }
        while (i < n && is_digit(text[i])) ++i;
    }
    Token token{Tok::number, start, i, 0};
    auto [ptr, ec] = std::from_chars(text.data() + start, text.data() + i, token.number);
    if (ec == std::errc::result_out_of_range ||
        (ec == std::errc{} && !std::isfinite(token.number))) {
        return std::unexpected(
            error_at(text, start, "the number " + quote(text, start, i) + " is out of range"));
    }
    if (ec != std::errc{} || ptr != text.data() + i) {
        return std::unexpected(error_at(text, start, "malformed number " + quote(text, start, i)));
    }
    return token;
}

// A name: segments of letters, digits and `_` joined by `.`; a `-` followed by a letter
// stays inside the name (`val-loss`), any other `-` is a minus.
std::expected<Token, util::Error> lex_name(std::string_view text, std::size_t start) {
    std::size_t i = start + 1;
    const std::size_t n = text.size();
    while (i < n) {
        char c = text[i];
        if (is_name_char(c)) {
            ++i;
        } else if (c == '-' && i + 1 < n && is_letter(text[i + 1])) {
            i += 2;
        } else if (c == '.') {
            if (i + 1 < n && starts_name(text[i + 1])) {
                i += 2;
                continue;
            }
            return std::unexpected(error_at(
                text, i + 1, "expected a name after the `.` in " + quote(text, start, i + 1)));
        } else {
            break;
        }
    }
    std::string_view word = text.substr(start, i - start);
    Tok kind = word == "and"   ? Tok::keyword_and
               : word == "or"  ? Tok::keyword_or
               : word == "not" ? Tok::keyword_not
                               : Tok::name;
    return Token{kind, start, i, 0};
}

std::expected<std::vector<Token>, util::Error> tokenize(std::string_view text) {
    std::vector<Token> tokens;
    std::size_t i = 0;
    const std::size_t n = text.size();
    auto fail_at = [&](std::size_t offset, std::string message) {
        return std::unexpected(error_at(text, offset, std::move(message)));
    };
    while (true) {
        while (i < n && is_space(text[i])) ++i;
        if (i == n) break;
        const char c = text[i];
        const char next = i + 1 < n ? text[i + 1] : '\0';
        if (is_digit(c) || (c == '.' && is_digit(next))) {
            auto token = lex_number(text, i);
            if (!token) return std::unexpected(token.error());
            tokens.push_back(*token);
            i = token->end;
            continue;
        }
        if (starts_name(c)) {
            auto token = lex_name(text, i);
            if (!token) return std::unexpected(token.error());
            tokens.push_back(*token);
            i = token->end;
            continue;
        }
        Tok kind = Tok::end;
        std::size_t length = 1;
        switch (c) {
            case '(':
                kind = Tok::left_paren;
                break;
            case ')':
                kind = Tok::right_paren;
                break;
            case ',':
                kind = Tok::comma;
                break;
            case '+':
                kind = Tok::plus;
                break;
            case '-':
                kind = Tok::minus;
                break;
            case '*':
                kind = Tok::star;
                break;
            case '/':
                kind = Tok::slash;
                break;
            case '<':
                kind = next == '=' ? Tok::less_equal : Tok::less;
                length = next == '=' ? 2 : 1;
                break;
            case '>':
                kind = next == '=' ? Tok::greater_equal : Tok::greater;
                length = next == '=' ? 2 : 1;
                break;
            case '=':
                if (next != '=') return fail_at(i, "found `=`; write `==` to compare");
                kind = Tok::equal;
                length = 2;
                break;
            case '!':
                if (next != '=') return fail_at(i, "found `!`; write `not` to negate a condition");
                kind = Tok::not_equal;
                length = 2;
                break;
            case '&':
                return fail_at(i, "found `&`; write `and` to join conditions");
            case '|':
                return fail_at(i, "found `|`; write `or` to join conditions");
            default:
                return fail_at(i, "unexpected " + describe_character(text, i));
        }
        tokens.push_back(Token{kind, i, i + length, 0});
        i += length;
    }
    tokens.push_back(Token{Tok::end, n, n, 0});
    return tokens;
}

std::optional<Op> comparison_op(Tok kind) {
    switch (kind) {
        case Tok::less:
            return Op::less;
        case Tok::less_equal:
            return Op::less_equal;
        case Tok::greater:
            return Op::greater;
        case Tok::greater_equal:
            return Op::greater_equal;
        case Tok::equal:
            return Op::equal;
        case Tok::not_equal:
            return Op::not_equal;
        default:
            return std::nullopt;
    }
}

std::string_view op_text(Op op) {
    switch (op) {
        case Op::add:
            return "+";
        case Op::subtract:
            return "-";
        case Op::multiply:
            return "*";
        case Op::divide:
            return "/";
        case Op::less:
            return "<";
        case Op::less_equal:
            return "<=";
        case Op::greater:
            return ">";
        case Op::greater_equal:
            return ">=";
        case Op::equal:
            return "==";
        case Op::not_equal:
            return "!=";
    }
    return "?";
}

bool is_condition(const Node& node) {
    return node.kind == NodeKind::comparison || node.kind == NodeKind::logical_not ||
           node.kind == NodeKind::logical_and || node.kind == NodeKind::logical_or;
}

// ---------------------------------------------------------------------------------------
// Parser. One function per precedence level, lowest first; each checks the types of
// the operands it joins, so a tree that parses is well typed.

using NodeResult = std::expected<Node, util::Error>;

class Parser {
  public:
    Parser(std::string_view text, std::vector<Token> tokens)
        : text_(text), tokens_(std::move(tokens)) {}

    NodeResult rule() {
        if (peek().kind == Tok::end) return fail(0, "the rule is empty");
        auto root = or_expression();
        if (!root) return root;
        const Token& rest = peek();
        if (rest.kind == Tok::right_paren) {
            return fail(rest.begin, "found `)` with no matching `(`");
        }
        if (rest.kind != Tok::end) {
            return fail(rest.begin,
                        "expected an operator or the end of the rule, found " + found(rest));
        }
        if (auto e = need_condition(*root, "a rule must be a comparison such as `f1 >= 0.8`")) {
            return std::unexpected(*e);
        }
        return root;
    }

  private:
    // Counts one level of nesting for as long as it lives.
    class Nesting {
      public:
        explicit Nesting(int& depth) : depth_(depth) { ++depth_; }
        ~Nesting() { --depth_; }
        Nesting(const Nesting&) = delete;
        Nesting& operator=(const Nesting&) = delete;
        bool too_deep() const { return depth_ > k_max_gate_expression_depth; }

      private:
        int& depth_;
    };

    const Token& peek() const { return tokens_[position_]; }
    Token take() {
        Token token = tokens_[position_];
        if (token.kind != Tok::end) ++position_;
        return token;
    }

    std::unexpected<util::Error> fail(std::size_t offset, std::string message) const {
        return std::unexpected(error_at(text_, offset, std::move(message)));
    }
    std::unexpected<util::Error> too_deep(std::size_t offset) const {
        return fail(offset, "the rule nests too deeply (more than " +
                                std::to_string(k_max_gate_expression_depth) + " levels)");
    }

    std::string found(const Token& token) const {
        if (token.kind == Tok::end) return "the end of the rule";
        return quote(text_, token.begin, token.end);
    }
    std::string quoted(const Node& node) const { return quote(text_, node.begin, node.end); }

    std::optional<util::Error> need_number(const Node& node, std::string_view who) const {
        if (!is_condition(node)) return std::nullopt;
        return error_at(text_, node.begin,
                        std::string(who) + ", found the condition " + quoted(node));
    }
    std::optional<util::Error> need_condition(const Node& node, std::string_view who) const {
        if (is_condition(node)) return std::nullopt;
        return error_at(text_, node.begin, std::string(who) + ", found the number " + quoted(node));
    }

    // or: and ("or" and)*
    NodeResult or_expression() {
        return logical_chain(Tok::keyword_or, NodeKind::logical_or, &Parser::and_expression,
                             "`or` needs a condition such as `f1 > 0.8` on each side");
    }

    // and: not ("and" not)*
    NodeResult and_expression() {
        return logical_chain(Tok::keyword_and, NodeKind::logical_and, &Parser::not_expression,
                             "`and` needs a condition such as `f1 > 0.8` on each side");
    }

    NodeResult logical_chain(Tok keyword, NodeKind kind, NodeResult (Parser::*operand)(),
                             std::string_view who) {
        auto first = (this->*operand)();
        if (!first || peek().kind != keyword) return first;
        if (auto e = need_condition(*first, who)) return std::unexpected(*e);
        Node node;
        node.kind = kind;
        node.begin = first->begin;
        node.children.push_back(std::move(*first));
        while (peek().kind == keyword) {
            take();
            auto next = (this->*operand)();
            if (!next) return next;
            if (auto e = need_condition(*next, who)) return std::unexpected(*e);
            node.children.push_back(std::move(*next));
        }
        node.end = node.children.back().end;
        return node;
    }

    // not: "not" not | comparison
    NodeResult not_expression() {
        if (peek().kind != Tok::keyword_not) return comparison();
        Token keyword = take();
        Nesting nesting(depth_);
        if (nesting.too_deep()) return too_deep(keyword.begin);
        auto operand = not_expression();
        if (!operand) return operand;
        if (auto e = need_condition(*operand, "`not` needs a condition such as `f1 > 0.8`")) {
            return std::unexpected(*e);
        }
        Node node;
        node.kind = NodeKind::logical_not;
        node.begin = keyword.begin;
        node.end = operand->end;
        node.children.push_back(std::move(*operand));
        return node;
    }

    // comparison: sum (op sum)?   -- a second operator is an error, not a chain
    NodeResult comparison() {
        auto left = sum();
        if (!left) return left;
        auto op = comparison_op(peek().kind);
        if (!op) return left;
        take();
        const std::string who = "`" + std::string(op_text(*op)) + "` compares numbers";
        if (auto e = need_number(*left, who)) return std::unexpected(*e);
        auto right = sum();
        if (!right) return right;
        if (auto e = need_number(*right, who)) return std::unexpected(*e);
        if (auto second = comparison_op(peek().kind)) {
            Token second_token = take();
            std::string message = "comparisons cannot be chained";
            auto third = sum();
            if (third) {
                message += "; write `" + piece(*left) + " " + std::string(op_text(*op)) + " " +
                           piece(*right) + " and " + piece(*right) + " " +
                           std::string(op_text(*second)) + " " + piece(*third) + "`";
            } else {
                message += "; join two comparisons with `and`";
            }
            return fail(second_token.begin, message);
        }
        Node node;
        node.kind = NodeKind::comparison;
        node.begin = left->begin;
        node.end = right->end;
        node.ops.push_back(*op);
        node.children.push_back(std::move(*left));
        node.children.push_back(std::move(*right));
        return node;
    }

    std::string piece(const Node& node) const {
        return std::string(text_.substr(node.begin, node.end - node.begin));
    }

    // sum: product (("+" | "-") product)*
    NodeResult sum() {
        return arithmetic_chain(&Parser::product, [](Tok kind) -> std::optional<Op> {
            if (kind == Tok::plus) return Op::add;
            if (kind == Tok::minus) return Op::subtract;
            return std::nullopt;
        });
    }

    // product: unary (("*" | "/") unary)*
    NodeResult product() {
        return arithmetic_chain(&Parser::unary, [](Tok kind) -> std::optional<Op> {
            if (kind == Tok::star) return Op::multiply;
            if (kind == Tok::slash) return Op::divide;
            return std::nullopt;
        });
    }

    NodeResult arithmetic_chain(NodeResult (Parser::*operand)(), std::optional<Op> (*op_of)(Tok)) {
        auto first = (this->*operand)();
        if (!first) return first;
        auto op = op_of(peek().kind);
        if (!op) return first;
        Node node;
        node.kind = NodeKind::arithmetic;
        node.begin = first->begin;
        node.children.push_back(std::move(*first));
        while (op) {
            take();
            const std::string who =
                "`" + std::string(op_text(*op)) + "` needs a number on each side";
            if (auto e = need_number(node.children.back(), who)) return std::unexpected(*e);
            auto next = (this->*operand)();
            if (!next) return next;
            if (auto e = need_number(*next, who)) return std::unexpected(*e);
            node.ops.push_back(*op);
            node.children.push_back(std::move(*next));
            op = op_of(peek().kind);
        }
        node.end = node.children.back().end;
        return node;
    }

    // unary: "-" unary | primary
    NodeResult unary() {
        if (peek().kind != Tok::minus) return primary();
        Token minus = take();
        Nesting nesting(depth_);
        if (nesting.too_deep()) return too_deep(minus.begin);
        auto operand = unary();
        if (!operand) return operand;
        if (auto e = need_number(*operand, "`-` needs a number")) return std::unexpected(*e);
        Node node;
        node.kind = NodeKind::negate;
        node.begin = minus.begin;
        node.end = operand->end;
        node.children.push_back(std::move(*operand));
        return node;
    }

    // primary: number | name | name "(" arguments ")" | "(" or ")"
    NodeResult primary() {
        const Token token = peek();
        switch (token.kind) {
            case Tok::number: {
                take();
                Node node;
                node.kind = NodeKind::number;
                node.number = token.number;
                node.begin = token.begin;
                node.end = token.end;
                return node;
            }
            case Tok::name: {
                take();
                if (peek().kind == Tok::left_paren) return call(token);
                Node node;
                node.kind = NodeKind::name;
                node.name = std::string(text_.substr(token.begin, token.end - token.begin));
                node.begin = token.begin;
                node.end = token.end;
                return node;
            }
            case Tok::left_paren: {
                take();
                Nesting nesting(depth_);
                if (nesting.too_deep()) return too_deep(token.begin);
                auto inner = or_expression();
                if (!inner) return inner;
                if (peek().kind != Tok::right_paren) {
                    return fail(peek().begin, "expected `)` to close the `(` at column " +
                                                  std::to_string(column_of(text_, token.begin)) +
                                                  ", found " + found(peek()));
                }
                inner->begin = token.begin;
                inner->end = take().end;
                return inner;
            }
            default:
                return fail(token.begin, "expected a number, a name or `(`, found " + found(token));
        }
    }

    // A call of abs, min or max; `name` is taken, `(` is next.
    NodeResult call(const Token& name) {
        const std::string function(text_.substr(name.begin, name.end - name.begin));
        bool known = false;
        for (std::string_view f : k_functions) known = known || f == function;
        if (!known) {
            return fail(name.begin, "unknown function `" + function +
                                        "` (the functions are abs, min and max)" +
                                        util::did_you_mean(function, k_functions));
        }
        take();  // (
        Nesting nesting(depth_);
        if (nesting.too_deep()) return too_deep(name.begin);
        Node node;
        node.kind = NodeKind::call;
        node.name = function;
        node.begin = name.begin;
        const std::string who = "`" + function + "` needs numbers";
        if (peek().kind != Tok::right_paren) {
            while (true) {
                // An argument is arithmetic: `max(a > b, 1)` stops at `>` ("expected `,` or
                // `)`"), which reads better than a type error when a `)` was forgotten.
                auto argument = sum();
                if (!argument) return argument;
                if (auto e = need_number(*argument, who)) return std::unexpected(*e);
                node.children.push_back(std::move(*argument));
                if (peek().kind != Tok::comma) break;
                take();
            }
        }
        if (peek().kind != Tok::right_paren) {
            return fail(peek().begin, "expected `,` or `)` in the call to `" + function +
                                          "`, found " + found(peek()));
        }
        node.end = take().end;
        const std::size_t count = node.children.size();
        if (function == "abs" && count != 1) {
            return fail(name.begin, "`abs` takes 1 argument, found " + std::to_string(count));
        }
        if (function != "abs" && count < 2) {
            return fail(name.begin, "`" + function + "` takes 2 or more arguments, found " +
                                        std::to_string(count));
        }
        return node;
    }

    std::string_view text_;
    std::vector<Token> tokens_;
    std::size_t position_ = 0;
    int depth_ = 0;
};

// ---------------------------------------------------------------------------------------
// Evaluation

using Values = std::map<std::string, double, std::less<>>;

class Evaluator {
  public:
    Evaluator(std::string_view source, const Values& values) : source_(source), values_(values) {}

    std::expected<double, std::string> number(const Node& node) const {
        switch (node.kind) {
            case NodeKind::number:
                return node.number;
            case NodeKind::name: {
                auto it = values_.find(node.name);
                if (it == values_.end()) return std::unexpected("no metric `" + node.name + "`");
                return it->second;
            }
            case NodeKind::negate: {
                auto value = number(node.children[0]);
                if (!value) return value;
                return -*value;
            }
            case NodeKind::arithmetic:
                return arithmetic(node);
            case NodeKind::call:
                return call(node);
            default:
                return std::unexpected("internal error: a condition where a number belongs");
        }
    }

    std::expected<bool, std::string> condition(const Node& node) const {
        switch (node.kind) {
            case NodeKind::comparison: {
                auto left = number(node.children[0]);
                if (!left) return std::unexpected(left.error());
                auto right = number(node.children[1]);
                if (!right) return std::unexpected(right.error());
                return compare(node.ops[0], *left, *right);
            }
            case NodeKind::logical_not: {
                auto value = condition(node.children[0]);
                if (!value) return value;
                return !*value;
            }
            case NodeKind::logical_and:
            case NodeKind::logical_or: {
                // Every operand, no short circuit: an error anywhere fails the rule.
                bool all = true;
                bool any = false;
                for (const Node& child : node.children) {
                    auto value = condition(child);
                    if (!value) return value;
                    all = all && *value;
                    any = any || *value;
                }
                return node.kind == NodeKind::logical_and ? all : any;
            }
            default:
                return std::unexpected("internal error: a number where a condition belongs");
        }
    }

    static bool compare(Op op, double left, double right) {
        switch (op) {
            case Op::less:
                return left < right;
            case Op::less_equal:
                return left <= right;
            case Op::greater:
                return left > right;
            case Op::greater_equal:
                return left >= right;
            case Op::equal:
                return left == right;
            case Op::not_equal:
                return left != right;
            default:
                return false;
        }
    }

  private:
    std::expected<double, std::string> arithmetic(const Node& node) const {
        auto first = number(node.children[0]);
        if (!first) return first;
        double value = *first;
        for (std::size_t i = 0; i < node.ops.size(); ++i) {
            const Node& operand = node.children[i + 1];
            auto right = number(operand);
            if (!right) return right;
            auto so_far = [&] { return quote(source_, node.begin, operand.end); };
            switch (node.ops[i]) {
                case Op::add:
                    value += *right;
                    break;
                case Op::subtract:
                    value -= *right;
                    break;
                case Op::multiply:
                    value *= *right;
                    break;
                case Op::divide:
                    if (*right == 0) return std::unexpected("division by zero in " + so_far());
                    value /= *right;
                    break;
                default:
                    return std::unexpected("internal error: not an arithmetic operator");
            }
            if (!std::isfinite(value)) return std::unexpected(not_finite(value, so_far()));
        }
        return value;
    }

    std::expected<double, std::string> call(const Node& node) const {
        std::vector<double> arguments;
        for (const Node& child : node.children) {
            auto value = number(child);
            if (!value) return value;
            arguments.push_back(*value);
        }
        if (node.name == "abs") return std::fabs(arguments.at(0));
        double result = arguments.at(0);
        for (double a : arguments)
            result = node.name == "min" ? std::min(result, a) : std::max(result, a);
        return result;
    }

    static std::string not_finite(double value, const std::string& what) {
        if (std::isnan(value)) return what + " is not a number (NaN)";
        return what + " is infinite (the numbers are too large)";
    }

    std::string_view source_;
    const Values& values_;
};

std::string missing_metric(const std::string& name) {
    std::string message = "no metric `" + name + "`";
    if (name.find('-') != std::string::npos) {
        message += " (a `-` between letters is part of a name; write `a - b` to subtract)";
    }
    return message;
}

void collect_names(const Node& node, std::vector<std::string>& out, std::set<std::string>& seen) {
    if (node.kind == NodeKind::name && seen.insert(node.name).second) out.push_back(node.name);
    for (const Node& child : node.children) collect_names(child, out, seen);
}

std::string render(const Node& node) {
    auto join = [&](std::string_view separator) {
        std::string out = "(";
        for (std::size_t i = 0; i < node.children.size(); ++i) {
            if (i > 0) out += separator;
            out += render(node.children[i]);
        }
        return out + ")";
    };
    switch (node.kind) {
        case NodeKind::number:
            return format_number(node.number);
        case NodeKind::name:
            return node.name;
        case NodeKind::negate:
            return "(-" + render(node.children[0]) + ")";
        case NodeKind::arithmetic:
        case NodeKind::comparison: {
            std::string out = "(" + render(node.children[0]);
            for (std::size_t i = 0; i < node.ops.size(); ++i) {
                out += " " + std::string(op_text(node.ops[i])) + " " + render(node.children[i + 1]);
            }
            return out + ")";
        }
        case NodeKind::logical_not:
            return "(not " + render(node.children[0]) + ")";
        case NodeKind::logical_and:
            return join(" and ");
        case NodeKind::logical_or:
            return join(" or ");
        case NodeKind::call:
            return node.name + join(", ");
    }
    return "?";
}

}  // namespace

GateExpression::GateExpression(std::string source, std::size_t text_begin, std::size_t text_end,
                               std::shared_ptr<const gate_expression_detail::Node> root)
    : source_(std::move(source)),
      text_begin_(text_begin),
      text_end_(text_end),
      root_(std::move(root)) {}

std::string_view GateExpression::text() const {
    return std::string_view(source_).substr(text_begin_, text_end_ - text_begin_);
}

util::Result<GateExpression> parse_gate_expression(std::string_view text) {
    auto tokens = tokenize(text);
    if (!tokens) return std::unexpected(tokens.error());
    const std::size_t begin = tokens->front().begin;
    const std::size_t end = tokens->size() > 1 ? (*tokens)[tokens->size() - 2].end : begin;
    Parser parser(text, std::move(*tokens));
    auto root = parser.rule();
    if (!root) return std::unexpected(root.error());
    return GateExpression(std::string(text), begin, end,
                          std::make_shared<const Node>(std::move(*root)));
}

std::vector<std::string> names(const GateExpression& expression) {
    std::vector<std::string> out;
    std::set<std::string> seen;
    collect_names(expression.root(), out, seen);
    return out;
}

std::string canonical(const GateExpression& expression) { return render(expression.root()); }

RuleResult evaluate(const GateExpression& expression, const MetricLookup& lookup) {
    RuleResult result;
    Values values;
    for (const std::string& name : names(expression)) {
        std::optional<double> value = lookup ? lookup(name) : std::nullopt;
        if (!value) {
            if (!result.error) result.error = missing_metric(name);
            continue;
        }
        result.values.emplace_back(name, *value);
        values.emplace(name, *value);
        if (!result.error && std::isnan(*value)) result.error = "metric `" + name + "` is NaN";
        if (!result.error && std::isinf(*value)) result.error = "metric `" + name + "` is infinite";
    }
    if (result.error) return result;

    Evaluator evaluator(expression.source(), values);
    const Node& root = expression.root();
    if (root.kind == NodeKind::comparison) {
        auto left = evaluator.number(root.children[0]);
        if (!left) {
            result.error = left.error();
            return result;
        }
        auto right = evaluator.number(root.children[1]);
        if (!right) {
            result.error = right.error();
            return result;
        }
        result.comparison = GateComparison{*left, std::string(op_text(root.ops[0])), *right};
        result.passed = Evaluator::compare(root.ops[0], *left, *right);
        return result;
    }
    auto passed = evaluator.condition(root);
    if (!passed) {
        result.error = passed.error();
        return result;
    }
    result.passed = *passed;
    return result;
}

std::string format_number(double value) {
    std::array<char, 64> buffer{};
    auto [ptr, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    if (ec != std::errc{}) return std::to_string(value);
    return std::string(buffer.data(), ptr);
}

std::string describe(const GateExpression& expression, const RuleResult& result) {
    std::string out(expression.text());
    if (result.error) return out + ": error: " + *result.error;
    if (result.comparison) {
        return out + ": " + format_number(result.comparison->left) + " " + result.comparison->op +
               " " + format_number(result.comparison->right);
    }
    out += result.passed ? ": true" : ": false";
    for (std::size_t i = 0; i < result.values.size(); ++i) {
        out += i == 0 ? " (" : ", ";
        out += result.values[i].first + " = " + format_number(result.values[i].second);
    }
    if (!result.values.empty()) out += ")";
    return out;
}

}  // namespace sluice::pipeline
