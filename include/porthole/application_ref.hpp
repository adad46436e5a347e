// porthole/application_ref.hpp: any application behind one type, through one indirect call per
// request. It refers to the application (which must outlive it) and is copied freely. The type
// to name where the application's own type cannot be: a server compiled once, in one file, for
// every application of the program (serve.hpp, PORTHOLE_SEPARATE_COMPILATION).
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/app.hpp>
#include <porthole/body_stream.hpp>

#include <memory>
#include <optional>
#include <type_traits>

namespace porthole {

class application_ref {
public:
    // Implicit: it stands for the application.
    template <class App>
    requires(!std::same_as<std::remove_cv_t<App>, application_ref> && detail::fits_application<App>)
        application_ref(App& app)
    noexcept {
        if constexpr (std::is_function_v<App>) {  // a function: no object to point to
            target_.function = reinterpret_cast<void (*)()>(&app);
            call_ = [](target t, request const& req) {
                return call_application(*reinterpret_cast<App*>(t.function), req);
            };
        } else {
            target_.object = const_cast<void*>(static_cast<void const*>(std::addressof(app)));
            call_ = [](target t, request const& req) { return call_application(*static_cast<App*>(t.object), req); };
            if constexpr (detail::plans_bodies<App>)
                plan_ = [](target t, request const& head) { return static_cast<App*>(t.object)->plan_body(head); };
            if constexpr (porthole::answers_refusals<App>)
                refuse_ = [](target t, request const& head, status refusal) {
                    return static_cast<App*>(t.object)->refuse(head, refusal);
                };
        }
    }

    response operator()(request const& req) const { return call_(target_, req); }

    // What the application says of a request's body, when it says anything (body_stream.hpp).
    std::optional<body_plan> plan_body(request const& head) const {
        return plan_ ? plan_(target_, head) : std::nullopt;
    }
    // False: plan_body() gives nothing whatever the request, so the connection need not ask.
    bool plans_bodies() const noexcept { return plan_ != nullptr; }

    // A request whose body the connection refuses (app.hpp's answers_refusals): the
    // application's answer when it answers those (answers_refusals()), else the plain page.
    response refuse(request const& head, status refusal) const {
        return refuse_ ? refuse_(target_, head, refusal) : response::error(refusal);
    }
    bool answers_refusals() const noexcept { return refuse_ != nullptr; }

private:
    union target {
        void* object;
        void (*function)();  // any function pointer converts to this one and back
    };
    target target_{};
    response (*call_)(target, request const&) = nullptr;
    std::optional<body_plan> (*plan_)(target, request const&) = nullptr;
    response (*refuse_)(target, request const&, status) = nullptr;
};

}  // namespace porthole
